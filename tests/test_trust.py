"""Never trust the unauthenticated (issue 9): each test is a crafted mail an attacker could
send, and what a helpdesk user would notice if the engine trusted it."""

from conftest import attempt, fixture_bytes

from persona_threading.engine.authenticity import AUTHENTICATED, FORGED, UNVERIFIED, assess
from persona_threading.engine.message import parse_message
from persona_threading.engine.policy import RoutingPolicy
from persona_threading.engine.router import route

OURS = "mx.help.example"
TRUSTING = RoutingPolicy(trusted_authserv_ids=(OURS,))


def mail(sender: str | None, *results: str, to="support@help.example", subject="help", extra="",
         body="please help", message_id="m1@customer.example") -> bytes:
    """A mail whose header block starts with ``Authentication-Results`` lines (topmost first)."""
    lines = [f"Authentication-Results: {r}" for r in results]
    if sender:
        lines.append(f"From: {sender}")
    lines += [f"To: {to}", f"Subject: {subject}", "Date: Tue, 17 Nov 2026 10:00:00 +0000",
              f"Message-ID: <{message_id}>"]
    return ("\n".join(lines) + "\n" + extra + "\n" + body + "\n").encode("utf-8", "surrogateescape")


def deliver(world, raw: bytes, policy=TRUSTING):
    message = parse_message(raw)
    return world.store.record(message, route(message, world.store, world.keyring, policy=policy))


def verdict(raw: bytes, trusted=(OURS,)):
    return assess(parse_message(raw), trusted)


# -- what trusted Authentication-Results prove ---------------------------------------------


def test_dmarc_fail_from_our_own_server_shows_the_from_forged():
    found = verdict(mail("agent@help.example", f"{OURS}; spf=pass smtp.mailfrom=evil.example; dmarc=fail"
                                               " (p=reject) header.from=help.example"))
    assert found.verdict == FORGED and "dmarc=fail" in found.evidence and OURS in found.evidence


def test_authentication_results_of_other_servers_are_ignored():
    """A forger writes their own header: it proves nothing, whatever it says."""
    forged_claim = mail("agent@help.example", "mx.evil.example; dmarc=pass header.from=help.example")
    assert verdict(forged_claim).verdict == UNVERIFIED
    assert "1 from others ignored" in verdict(forged_claim).evidence
    assert verdict(mail("agent@help.example", f"{OURS}; dmarc=fail"), trusted=()).verdict == UNVERIFIED


def test_only_the_topmost_trusted_header_counts():
    """Our server's header is on top; one below, even with our id, came with the mail."""
    raw = mail("agent@help.example", f"{OURS}; dmarc=fail header.from=help.example",
               f"{OURS}; dmarc=pass header.from=help.example")
    assert verdict(raw).verdict == FORGED


def test_spf_or_dkim_fail_is_forged_only_without_an_aligned_pass():
    spf_fail = mail("agent@help.example", f"{OURS}; spf=fail smtp.mailfrom=agent@help.example")
    assert verdict(spf_fail).verdict == FORGED
    unaligned = mail("agent@help.example", f"{OURS}; spf=fail smtp.mailfrom=help.example;"
                                           " dkim=pass header.d=evil.example")
    assert verdict(unaligned).verdict == FORGED
    aligned = mail("agent@help.example", f"{OURS}; spf=fail smtp.mailfrom=help.example;"
                                         " dkim=pass header.d=mail.help.example")
    assert verdict(aligned).verdict == AUTHENTICATED and "header.d=mail.help.example" in verdict(aligned).evidence
    by_identity = mail("agent@help.example", f"{OURS}; dkim=fail; dkim=pass header.i=@help.example")
    assert verdict(by_identity).verdict == AUTHENTICATED


def test_comments_quoting_and_folding_are_read_as_rfc_8601_writes_them():
    raw = mail("agent@help.example", f'{OURS} (our MX) 1;\n dkim = pass (good sig) header.d="help.example"'
                                     ' header.b=abc;\n spf=none')
    assert verdict(raw).verdict == AUTHENTICATED
    assert verdict(mail("agent@help.example", f"{OURS}; none")).verdict == UNVERIFIED


def test_any_number_of_results_headers_is_bounded_and_never_raises():
    junk = ["(((((", '"unterminated', "; = = ;", f"{OURS};;;dkim=", "\x00\udcff"] * 40
    assert verdict(mail("a@b.example", *junk)).verdict in (UNVERIFIED, FORGED, AUTHENTICATED)


# -- privileged decisions: From only, and only when not shown forged -----------------------

FORWARD = ("\n---------- Forwarded message ---------\nFrom: Colleague <colleague@help.example>\n"
           "Subject: printer\n\nthe printer is broken")


def test_a_forged_agent_from_is_not_unwrapped(world):
    world.store.apply_config(*_config_with_colleague(world))
    forged = mail("agent@help.example", f"{OURS}; dmarc=fail header.from=help.example", body="FYI" + FORWARD)
    d = deliver(world, forged)
    assert (d.submitted_by, d.assigned_to) == ("agent@help.example", None)
    assert d.authenticity["verdict"] == FORGED and d.sender_role == "third_party"
    genuine = mail("agent@help.example", f"{OURS}; dmarc=pass header.from=help.example", body="FYI" + FORWARD,
                   message_id="m2@help.example")
    d = deliver(world, genuine)
    assert (d.submitted_by, d.assigned_to) == ("colleague@help.example", "agent@help.example")


def test_a_sender_header_never_makes_a_stranger_an_agent(world):
    """No From: the Sender fallback names who to show, never whose forward to unwrap."""
    world.store.apply_config(*_config_with_colleague(world))
    raw = mail(None, extra="Sender: agent@help.example\n", body="FYI" + FORWARD)
    d = deliver(world, raw)
    assert d.assigned_to is None and d.submitted_by != "colleague@help.example"
    assert d.sender_role == "third_party"


def test_a_forged_inbox_from_is_not_stored_as_our_reply_in_a_customers_conversation(world):
    forged = mail("support@help.example", f"{OURS}; dmarc=fail header.from=help.example",
                  to="alice@customer.example", extra="In-Reply-To: <orig-a@customer.example>\n",
                  subject="Re: Printer on floor 3 is broken", body="Please send your password.")
    d = deliver(world, forged)
    assert d.action == "threaded" and d.conversation == world.a
    assert (d.sender_role, d.visibility) == ("third_party", "private")
    assert any("support@help.example is one of our inboxes but is shown forged" in x for x in d.defects)
    direction = world.store.db.execute("SELECT direction FROM messages WHERE message_id = 'm1@customer.example'")
    assert direction.fetchone()[0] == "inbound"


def test_a_return_path_of_an_inbox_does_not_make_mail_outbound(world):
    raw = mail(None, extra="Return-Path: <support@help.example>\nIn-Reply-To: <orig-a@customer.example>\n")
    assert deliver(world, raw).action != "outbound"


def test_genuine_mail_from_an_inbox_is_still_outbound(world):
    raw = mail("support@help.example", f"{OURS}; dkim=pass header.d=help.example",
               extra="In-Reply-To: <orig-a@customer.example>\n")
    d = deliver(world, raw)
    assert (d.action, d.conversation, d.sender_role) == ("outbound", world.a, "agent")


def _config_with_colleague(world):
    from conftest import configure

    from persona_threading.store.sqlite import InboxConfig, ProjectConfig, UserConfig

    configure(world.store)
    return ([ProjectConfig("ACME"), ProjectConfig("BETA")],
            [InboxConfig("support@help.example", ("ACME",)), InboxConfig("acme@help.example", ("ACME",))],
            [UserConfig("agent@help.example"), UserConfig("colleague@help.example")])


# -- weak identifiers are sender-gated ------------------------------------------------------

REPLY_INDEX = "AQHT8MGsDJq0pNzN8kqm6l56g9iVCqQ5ode4"  # root AQHT8MGsDJq0pNzN8kqm6l56g9iVCg==


def outlook(sender: str, index: str, message_id: str) -> bytes:
    return (f"From: {sender}\nTo: acme@help.example\nSubject: RE: something\nMessage-ID: <{message_id}>\n"
            f"Date: Tue, 17 Nov 2026 15:00:00 +0000\nThread-Index: {index}\n\nhello\n").encode()


def test_a_stranger_who_knows_a_thread_index_root_does_not_thread(world):
    root = world.deliver("outlook_root.eml")  # bob@corp.example opens it
    d = world.deliver(outlook("mallory@evil.example", REPLY_INDEX, "mallory@evil.example"))
    assert d.conversation != root.conversation
    assert "mallory@evil.example is not a participant" in attempt(d, "thread_index").evidence
    bob = world.deliver(outlook("bob@corp.example", REPLY_INDEX, "bob-2@corp.example"))
    assert (bob.rule, bob.conversation) == ("thread_index", root.conversation)


def test_a_squatted_root_cannot_capture_the_victims_later_mail(world):
    squat = world.deliver(outlook("mallory@evil.example", "AQHT8MGsDJq0pNzN8kqm6l56g9iVCg==", "squat@evil.example"))
    victim_first = world.deliver("outlook_root.eml")  # the same root, sent later by bob
    victim_reply = world.deliver("outlook_reply.eml")
    assert squat.conversation != victim_first.conversation
    assert victim_reply.conversation != squat.conversation
    assert "bob@corp.example is not a participant" in attempt(victim_reply, "thread_index").evidence


def test_a_reply_by_headers_from_a_non_participant_threads_but_is_private(world):
    """The customer may have forwarded the thread to a colleague: it threads, agents see it."""
    stranger = (b"From: colleague@customer.example\nTo: support@help.example\nSubject: Re: printer\n"
                b"In-Reply-To: <agent-a1@help.example>\nMessage-ID: <c1@customer.example>\n\nme too\n")
    d = world.deliver(stranger)
    assert (d.action, d.conversation) == ("threaded", world.a)
    assert (d.sender_role, d.visibility) == ("third_party", "private")
    assert "a third party's reply is private" in d.standing
    again = world.deliver(stranger.replace(b"<c1@", b"<c2@"))  # now stored as Third party: still private
    assert (again.sender_role, again.visibility) == ("third_party", "private")


def test_sender_roles_of_requester_cc_and_agent(world):
    def reply(sender, mid):
        return (f"From: {sender}\nTo: support@help.example\nSubject: Re: printer\nMessage-ID: <{mid}>\n"
                "In-Reply-To: <agent-a1@help.example>\n\nok\n").encode()

    requester = world.deliver(reply("alice@customer.example", "r1@customer.example"))
    assert (requester.sender_role, requester.visibility) == ("requester", "public")
    cc_added = world.deliver(reply("alice@customer.example", "r2@customer.example").replace(
        b"To: support@help.example", b"To: support@help.example\nCc: carol@customer.example"))
    carol = world.deliver(reply("carol@customer.example", "r3@customer.example"))
    assert cc_added.sender_role == "requester" and (carol.sender_role, carol.visibility) == ("cc", "public")
    note = world.deliver(reply("agent@help.example", "r4@help.example"))  # Reply: to the helpdesk only
    assert (note.sender_role, note.visibility) == ("agent", "private")
    agent = world.deliver(reply("agent@help.example", "r5@help.example").replace(
        b"To: support@help.example", b"To: support@help.example, alice@customer.example"))  # Reply-all
    assert (agent.sender_role, agent.visibility) == ("agent", "public")
    opened = world.deliver("new_to_acme.eml")
    assert (opened.sender_role, opened.visibility) == ("requester", "public")


# -- duplicates are real duplicates ----------------------------------------------------------


def test_a_reused_message_id_with_other_content_is_stored_as_its_own_message(world):
    """Message-ID pre-emption: the stranger sent first; the customer's real mail still lands."""
    squat = mail("mallory@evil.example", to="hello@help.example", body="spam", message_id="real@customer.example")
    real = mail("alice@customer.example", to="hello@help.example", body="My printer is on fire",
                message_id="real@customer.example").replace(b"10:00:00", b"11:30:00")
    first, second = world.deliver(squat), world.deliver(real)
    assert second.action == "new" and second.conversation != first.conversation
    assert any("Message-ID <real@customer.example> reused" in x for x in second.defects)
    assert world.deliver(real).action == "duplicate"  # and the real one is itself stored once


def test_one_mail_delivered_twice_is_a_duplicate_whatever_its_transport_headers(world):
    original = fixture_bytes("new_to_hello.eml")
    first = world.deliver(original)
    assert world.deliver(original.replace(b"\n", b"\r\n")).action == "duplicate"  # line endings
    relayed = b"Received: from mx2.help.example by mx.help.example\n" + original
    d = world.deliver(relayed)
    assert (d.action, d.conversation) == ("duplicate", first.conversation)
    assert "same sender and Date" in d.evidence


# -- #PREFIX respects scopes ----------------------------------------------------------------


def test_a_prefix_for_a_project_the_inbox_does_not_serve_is_not_allowed_here(world):
    d = world.deliver(b"From: a@b.example\nTo: acme@help.example\nSubject: #BETA x\nMessage-ID: <p1@b.example>\n\nx\n")
    assert (d.rule, d.project) == ("single_scope", "ACME")
    assert "not allowed here: it is not an eligible scope of inbox acme@help.example" in attempt(d, "prefix").evidence


def test_a_prefix_on_an_inbox_without_scopes_needs_a_project_that_accepts_inbound(world):
    from persona_threading.store.sqlite import InboxConfig, ProjectConfig, UserConfig

    world.store.apply_config([ProjectConfig("ACME"), ProjectConfig("BETA", accepts_inbound=False)],
                             [InboxConfig("hello@help.example")], [UserConfig("agent@help.example")])
    closed = world.deliver(b"From: a@b.example\nTo: hello@help.example\nSubject: #BETA x\n"
                           b"Message-ID: <p2@b.example>\n\nx\n")
    assert (closed.action, closed.project) == ("new", None)
    assert "does not accept inbound mail" in attempt(closed, "prefix").evidence
    open_ = world.deliver(b"From: a@b.example\nTo: hello@help.example\nSubject: #ACME x\n"
                          b"Message-ID: <p3@b.example>\n\nx\n")
    assert (open_.rule, open_.project) == ("prefix", "ACME")


def test_reply_markers_are_read_in_one_pass():
    from persona_threading.engine.rules.prefix import find_prefix

    assert find_prefix("Re [2] : AW:  Fwd:#ACME x", after_reply_markers=True) == "ACME"
    assert find_prefix("RE :#ACME x", after_reply_markers=True) == "ACME"
    assert find_prefix("re" + " " * 100_000 + "x", after_reply_markers=True) is None
    assert find_prefix("re [" + "1" * 100_000, after_reply_markers=True) is None


def test_genuine_mail_from_a_plus_addressed_inbox_is_outbound_too(world):
    """support+billing@ is the support inbox: its sent mail is ours, not a third party's reply."""
    raw = mail("Support+Billing@help.example", f"{OURS}; dkim=pass header.d=help.example",
               extra="In-Reply-To: <orig-a@customer.example>\n")
    d = deliver(world, raw)
    assert (d.action, d.conversation, d.warning) == ("outbound", world.a, None)
