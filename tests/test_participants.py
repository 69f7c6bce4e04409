"""Participants (issue 11): who joins, who is dropped and comes back, who may add CCs, which
replies stay internal. Each test replays real mails of one conversation (tests/fixtures/
participants/): Alice opens it with Bob and Carol in Cc; Ann is an agent, Gus another
agent, Lina a light agent, Mona a follower added from the form, Zoe a colleague a CC brings in;
support@ (and, when configured, sales@) are the site's inboxes."""

import pytest
from conftest import fixture_bytes

from persona_threading.engine.decision import Decision
from persona_threading.engine.message import parse_message
from persona_threading.engine.participants import (AGENT, ASSIGNEE, CC, FOLLOWER, REQUESTER, THIRD_PARTY, Directory,
                                                   Participant, blocking_pattern, follower_notifications,
                                                   message_followers, public_history, reply_recipients,
                                                   sender_role_of, vouches_for_weak_identifiers, wildcard_match)
from persona_threading.engine.policy import RoutingPolicy
from persona_threading.engine.router import route
from persona_threading.store.sqlite import InboxConfig, ProjectConfig, SqliteStore, UserConfig

BLOCKLIST = ("*@competitor.example", "noreply@*")
ALICE, BOB, CAROL = "alice@customer.example", "bob@customer.example", "carol@partner.example"
ZOE, LINA, MONA = "zoe@customer.example", "lina@help.example", "mona@help.example"


class Desk:
    """A helpdesk with one inbox; ``deliver`` routes and stores a fixture as a fetch would."""

    def __init__(self):
        self.store = SqliteStore(":memory:")
        self.configure()
        self.opened = self.deliver("opened_with_ccs")
        self.conversation = self.opened.conversation

    def configure(self, inboxes=("support@help.example",), cc_blocklist=BLOCKLIST, authserv_ids=()) -> None:
        """(Re)configure the site, as an admin editing the config would."""
        self.store.apply_config([ProjectConfig("ACME")], [InboxConfig(a, ("ACME",)) for a in inboxes],
                                [UserConfig("agent@help.example"), UserConfig("gus@help.example"),
                                 UserConfig("lina@help.example", light_agent=True)], cc_blocklist)
        self.policy = RoutingPolicy(cc_blocklist=cc_blocklist, trusted_authserv_ids=authserv_ids)

    def deliver(self, name_or_raw, lookup=None) -> Decision:
        raw = fixture_bytes(f"participants/{name_or_raw}.eml") if isinstance(name_or_raw, str) else name_or_raw
        message = parse_message(raw)
        decision = route(message, lookup or self.store, self.store.keyring(), policy=self.policy)
        return self.store.record(message, decision)

    def people(self) -> dict:
        return {p.email: (p.role, p.active) for p in self.store.participants(self.conversation)}

    def audit(self) -> list[str]:
        return [row["detail"] for row in self.store.conversation(self.conversation)["audit"]
                if row["event"] == "participant"]


@pytest.fixture
def desk():
    d = Desk()
    yield d
    d.store.close()


def changes(decision: Decision) -> dict:
    return {c["email"]: (c["change"], c["role"]) for c in decision.participants["changes"]}


# -- who joins ----------------------------------------------------------------------------


def test_everyone_on_the_opening_mail_joins_once_and_the_inbox_never_does(desk):
    assert desk.people() == {ALICE: (REQUESTER, True), BOB: (CC, True), CAROL: (CC, True)}
    opened = desk.store.conversation(desk.conversation)["messages"][0]
    assert opened["sender_role"] == "requester" and opened["visibility"] == "public"
    again = desk.deliver(fixture_bytes("participants/agent_reply_all.eml").replace(b"agent-all@", b"again@"))
    assert list(desk.people()) == [ALICE, BOB, CAROL, "agent@help.example"]  # one row each
    followers = again.participants["message_followers"]
    assert {"email": "support@help.example", "header": "Cc"} in followers  # the mail's record keeps it
    assert [f["header"] for f in followers] == ["From", "To", "Cc", "Cc", "Cc"]


def test_a_mail_naming_hundreds_of_addresses_adds_the_first_hundred_and_says_so(desk):
    named = ", ".join(f"reader{i}@list.example" for i in range(300))
    raw = (f"From: zed@customer.example\r\nTo: support@help.example\r\nCc: {named}\r\n"
           "Subject: Mass mail\r\nMessage-ID: <mass@customer.example>\r\n\r\nHello all\r\n").encode()
    decision = desk.deliver(raw)
    joined = [email for email, (change, role) in changes(decision).items() if role == CC]
    assert joined == [f"reader{i}@list.example" for i in range(99)]  # the first 100 named include the inbox
    assert any("names 301 addresses; only the first 100" in defect for defect in decision.defects)


# -- public or private --------------------------------------------------------------------


def test_an_agents_reply_all_is_public_and_a_reply_to_the_helpdesk_an_internal_note(desk):
    reply_all = desk.deliver("agent_reply_all")
    assert (reply_all.sender_role, reply_all.visibility) == ("agent", "public")
    assert "alice@customer.example" in reply_all.standing
    note = desk.deliver("agent_reply_to_helpdesk")
    assert (note.sender_role, note.visibility) == ("agent", "private")
    assert desk.people()[BOB] == (CC, True), "an agent's note removes nobody"
    assert any("stays CC although <agent-note@help.example> left them off" in line for line in desk.audit())


def test_a_followers_reply_is_a_note_unless_it_reaches_the_requester(desk):
    desk.store.db.execute("INSERT INTO participants (conversation_id, email, role) VALUES (?, ?, ?)",
                          (desk.conversation, "mona@help.example", FOLLOWER))
    note = desk.deliver("follower_reply_to_helpdesk")
    assert (note.sender_role, note.visibility) == ("follower", "private")
    reply = desk.deliver("follower_reply_all")
    assert (reply.sender_role, reply.visibility) == ("follower", "public")


def test_a_third_partys_reply_is_private_warns_and_changes_nobody(desk):
    d = desk.deliver("third_party_reply")
    assert (d.action, d.sender_role, d.visibility) == ("threaded", "third_party", "private")
    assert d.warning == "reply from a third party: Dave Outsider <dave@elsewhere.example>"
    assert desk.people()["dave@elsewhere.example"] == (THIRD_PARTY, True)
    assert (desk.people()[BOB], desk.people()[CAROL]) == ((CC, True), (CC, True))
    assert d.participants["added_ccs"] == []
    shown = desk.store.conversation(desk.conversation)["messages"][-1]
    assert (shown["visibility"], shown["warning"]) == ("private", d.warning)


def test_a_light_agents_reply_all_is_private_and_adds_no_cc(desk):
    d = desk.deliver("light_agent_reply_all")
    assert (d.sender_role, d.visibility) == ("light_agent", "private")
    assert "eve@customer.example" not in desk.people()
    assert "eve@customer.example not added as CC: lina@help.example is a light agent: their mail never adds CCs" \
        in desk.audit()


# -- the removal rule -------------------------------------------------------------------


def test_a_plain_reply_by_the_requester_removes_the_ccs(desk):
    d = desk.deliver("requester_plain_reply")
    assert changes(d) == {BOB: ("deactivate", CC), CAROL: ("deactivate", CC)}
    assert desk.people()[BOB] == (CC, False) and desk.people()[ALICE] == (REQUESTER, True)
    assert (f"{BOB} removed as CC: alice@customer.example (requester) left them off"
            " <alice-plain@customer.example>") in desk.audit()
    assert reply_recipients(desk.store.participants(desk.conversation)).cc == []


def test_a_removed_cc_comes_back_when_the_requester_names_them_again(desk):
    desk.deliver("requester_plain_reply")
    d = desk.deliver("requester_brings_bob_back")
    assert changes(d) == {BOB: ("reactivate", CC)}  # carol is already off: nothing to remove
    assert (desk.people()[BOB], desk.people()[CAROL]) == ((CC, True), (CC, False))
    assert d.participants["added_ccs"] == [], "bob has had the history before"


def test_a_removed_cc_does_not_bring_themselves_back(desk):
    desk.deliver("requester_plain_reply")
    d = desk.deliver("cc_reply_without_requester")  # bob, inactive now, writes in
    assert (d.sender_role, d.visibility) == ("third_party", "private")
    assert desk.people()[BOB] == (CC, False)


def test_a_cc_who_leaves_the_requester_off_removes_nobody(desk):
    d = desk.deliver("cc_reply_without_requester")
    assert (d.sender_role, d.visibility) == ("cc", "public")
    assert changes(d) == {CAROL: ("ignore", CC)}
    assert desk.people()[CAROL] == (CC, True)
    assert any(line.endswith("the requester is not on the mail") for line in desk.audit())


def test_an_out_of_office_changes_nobody(desk):
    d = desk.deliver("out_of_office")
    assert d.machine["kind"] == "auto_reply" and d.participants["changes"] == []
    assert (desk.people()[BOB], desk.people()[CAROL]) == ((CC, True), (CC, True))


# -- CCs added by email, the blocklist, followers by email -----------------------------


def test_the_cc_blocklist_holds_and_the_audit_says_which_pattern(desk):
    d = desk.deliver("requester_copies_blocked")
    assert "spy@competitor.example" not in desk.people() and "noreply@vendor.example" not in desk.people()
    assert desk.people()["frank@customer.example"] == (CC, True)
    audit = desk.audit()
    assert any("spy@competitor.example not added as CC: on the CC blocklist (*@competitor.example)" in a
               for a in audit)
    assert any("noreply@vendor.example not added as CC: on the CC blocklist (noreply@*)" in a for a in audit)
    assert d.participants["added_ccs"] == ["frank@customer.example"]


def test_an_added_cc_gets_the_public_history_once(desk):
    desk.deliver("agent_reply_all")
    desk.deliver("agent_reply_to_helpdesk")
    desk.deliver("third_party_reply")
    added = desk.deliver("requester_copies_blocked")
    messages = desk.store.conversation(desk.conversation)["messages"]
    history = public_history(messages, until_message_id=added.message_id)
    assert [m["message_id"] for m in history] == ["cc-open@customer.example", "agent-all@help.example"]
    again = desk.deliver(fixture_bytes("participants/requester_copies_blocked.eml").replace(b"alice-blocked@",
                                                                                            b"alice-again@"))
    assert again.participants["added_ccs"] == []


def test_the_ccs_of_our_own_first_mail_have_no_history_to_get(desk):
    sent = (b"From: support@help.example\nTo: Ivy <ivy@customer.example>\nCc: jo@customer.example\n"
            b"Date: Tue, 17 Nov 2026 09:00:00 +0000\nSubject: Your warranty\nMessage-ID: <w1@help.example>\n\nHello\n")
    d = desk.deliver(sent)
    assert (d.action, d.sender_role, d.participants["added_ccs"]) == ("outbound", "agent", [])
    desk.conversation = d.conversation
    assert desk.people() == {"ivy@customer.example": (CC, True), "jo@customer.example": (CC, True)}


def test_an_agent_adds_ccs_but_a_colleague_named_by_email_is_no_follower(desk):
    raw = fixture_bytes("participants/agent_copies_colleague.eml").replace(
        b"Gus Agent <gus@help.example>", b"Gus Agent <gus@help.example>, Heidi <heidi@customer.example>")
    d = desk.deliver(raw)
    assert d.visibility == "public" and d.participants["added_ccs"] == ["heidi@customer.example"]
    assert "gus@help.example" not in desk.people()
    assert any(a.startswith("gus@help.example is an internal user: followers are added from the form only")
               for a in desk.audit())


def test_a_reply_written_from_the_conversation_goes_to_the_requester_and_active_ccs_only(desk):
    desk.store.db.execute("INSERT INTO participants (conversation_id, email, role) VALUES (?, ?, ?)",
                          (desk.conversation, "mona@help.example", FOLLOWER))
    desk.deliver("third_party_reply")
    recipients = reply_recipients(desk.store.participants(desk.conversation), BLOCKLIST)
    assert (recipients.to, recipients.cc) == ([ALICE], [BOB, CAROL])


# -- pure helpers -------------------------------------------------------------------------


def test_blocklist_patterns_are_shell_style_over_the_whole_address_in_any_case():
    assert blocking_pattern("Spy@Competitor.Example", BLOCKLIST) == "*@competitor.example"
    assert blocking_pattern("spy@competitor.example.org", BLOCKLIST) is None  # whole address
    assert blocking_pattern("noreply@anything.example", BLOCKLIST) == "noreply@*"
    assert blocking_pattern("reply@anything.example", BLOCKLIST) is None
    assert wildcard_match("a?c@x", "abc@x") and not wildcard_match("a?c@x", "ac@x")
    assert wildcard_match("[x]@y", "[x]@y") and not wildcard_match("[x]@y", "x@y")  # only * and ? are special
    assert not wildcard_match("*a*a*a*a*a*b", "a" * 5000)  # hostile patterns stay bounded


def test_followers_are_notified_of_every_message_except_their_own():
    people = [Participant(ALICE, REQUESTER), Participant(BOB, CC), Participant("mona@help.example", FOLLOWER),
              Participant("ann@help.example", ASSIGNEE), Participant("old@help.example", FOLLOWER, False)]
    assert follower_notifications(people, "Mona@help.example") == ["ann@help.example"]
    assert follower_notifications(people, ALICE) == ["mona@help.example", "ann@help.example"]


def test_public_history_never_shows_private_or_unmarked_messages():
    messages = [{"message_id": "1", "visibility": "Public"}, {"message_id": "2", "visibility": "Private"},
                {"message_id": "3"}, {"message_id": "4", "visibility": "public"}]
    assert [m["message_id"] for m in public_history(messages)] == ["1", "4"]


def test_a_stored_decision_keeps_its_participant_changes_and_warning(desk):
    d = desk.deliver("third_party_reply")
    back = Decision.from_dict(d.as_dict())
    assert (back.warning, back.participants) == (d.warning, d.participants)
    assert "[warning] reply from a third party" in back.explain()


# -- the removal rule: who may remove, and when ------------------------------------------


def test_a_ccs_reply_all_that_keeps_the_requester_removes_the_cc_it_leaves_off(desk):
    d = desk.deliver("cc_reply_all_without_carol")  # bob -> support, cc alice; carol left off
    assert (d.sender_role, d.visibility) == ("cc", "public")
    assert changes(d) == {CAROL: ("deactivate", CC)}
    assert desk.people() == {ALICE: (REQUESTER, True), BOB: (CC, True), CAROL: (CC, False)}
    assert (f"{CAROL} removed as CC: bob@customer.example (cc) left them off <bob-all@customer.example>"
            in desk.audit())
    assert reply_recipients(desk.store.participants(desk.conversation), BLOCKLIST).cc == [BOB]


def test_a_light_agents_reply_all_that_leaves_ccs_off_removes_nobody(desk):
    """lina (light agent, and an active [[user]], i.e. also an agent to the store) writes to the
    requester and leaves bob and carol off: no one is removed, and the audit says why."""
    assert desk.store.is_agent(LINA) and desk.store.is_light_agent(LINA)
    d = desk.deliver("light_agent_reply_all")
    assert changes(d) == {LINA: ("join", AGENT), "eve@customer.example": ("ignore", None),
                          BOB: ("ignore", CC), CAROL: ("ignore", CC)}
    assert (desk.people()[BOB], desk.people()[CAROL]) == ((CC, True), (CC, True))
    assert d.participants["added_ccs"] == []
    assert (f"{BOB} stays CC although <lina-1@help.example> left them off: lina@help.example (light_agent)"
            " is not the requester or an active CC") in desk.audit()


class WithoutAgentRole:
    """The store, on a site where the light agents hold no agent role (Frappe: PT Light Agent
    without Support Team)."""

    def __init__(self, store):
        self.store = store

    def __getattr__(self, name):
        return getattr(self.store, name)

    def is_agent(self, address):
        return self.store.is_agent(address) and not self.store.is_light_agent(address)


def test_a_light_agent_without_the_agent_role_removes_and_adds_nobody_either(desk):
    d = desk.deliver("light_agent_reply_all", lookup=WithoutAgentRole(desk.store))
    assert (d.sender_role, d.visibility) == ("light_agent", "private")
    assert changes(d) == {LINA: ("join", AGENT), "eve@customer.example": ("ignore", None),
                          BOB: ("ignore", CC), CAROL: ("ignore", CC)}
    assert desk.people() == {ALICE: (REQUESTER, True), BOB: (CC, True), CAROL: (CC, True), LINA: (AGENT, True)}
    assert "eve@customer.example not added as CC: lina@help.example is a light agent: their mail never adds CCs" \
        in desk.audit()


def test_a_third_partys_mail_that_leaves_ccs_off_removes_and_adds_nobody_and_says_why(desk):
    raw = fixture_bytes("participants/third_party_reply.eml").replace(  # copies the requester, and zoe
        b"Cc: Alice Example <alice@customer.example>", b"Cc: Alice Example <alice@customer.example>, " + ZOE.encode())
    d = desk.deliver(raw)
    assert changes(d) == {"dave@elsewhere.example": ("join", THIRD_PARTY), ZOE: ("ignore", None),
                          BOB: ("ignore", CC), CAROL: ("ignore", CC)}
    assert (desk.people()[BOB], desk.people()[CAROL]) == ((CC, True), (CC, True)) and ZOE not in desk.people()
    audit = desk.audit()
    for cc in (BOB, CAROL):  # the requester is on the mail: the sender's standing is why
        assert (f"{cc} stays CC although <dave-1@elsewhere.example> left them off: dave@elsewhere.example"
                " (third_party) is not the requester or an active CC") in audit
    assert (f"{ZOE} not added as CC: dave@elsewhere.example (third_party) is not the requester, a CC or an"
            " agent") in audit


def test_a_requester_naming_ccs_in_another_case_keeps_them(desk):
    raw = fixture_bytes("participants/requester_brings_bob_back.eml").replace(
        b"Cc: Bob Builder <bob@customer.example>", b"Cc: BOB@Customer.Example, Carol <Carol@PARTNER.example>")
    d = desk.deliver(raw)
    assert changes(d) == {}
    assert desk.people() == {ALICE: (REQUESTER, True), BOB: (CC, True), CAROL: (CC, True)}


def test_a_shown_forged_requester_removes_and_adds_nobody(desk):
    desk.configure(authserv_ids=("mx.help.example",))
    raw = b"Authentication-Results: mx.help.example; dmarc=fail header.from=customer.example\n" + \
        fixture_bytes("participants/requester_plain_reply.eml").replace(b"To: support@help.example",
                                                                         b"To: support@help.example, " + ZOE.encode())
    d = desk.deliver(raw)
    assert d.authenticity["verdict"] == "forged" and (d.sender_role, d.visibility) == ("third_party", "private")
    assert changes(d) == {ZOE: ("ignore", None), BOB: ("ignore", CC), CAROL: ("ignore", CC)}
    assert desk.people() == {ALICE: (REQUESTER, True), BOB: (CC, True), CAROL: (CC, True)}
    assert f"{ZOE} not added as CC: the From alice@customer.example is shown forged" in desk.audit()


# -- who may add CCs, and who never joins ---------------------------------------------------


def test_a_cc_adds_a_new_cc_by_email_who_gets_the_history(desk):
    d = desk.deliver("cc_adds_colleague")  # bob -> support, cc alice, carol and zoe (new)
    assert changes(d) == {ZOE: ("join", CC)}
    assert d.participants["added_ccs"] == [ZOE]
    assert desk.people()[ZOE] == (CC, True)
    assert f"{ZOE} added as CC by bob@customer.example (cc) on <bob-zoe@customer.example>" in desk.audit()
    assert reply_recipients(desk.store.participants(desk.conversation), BLOCKLIST).cc == [BOB, CAROL, ZOE]


def test_a_followers_mail_adds_no_cc_and_removes_nobody(desk):
    """mona is a follower added from the form (an internal user, but no agent)."""
    desk.store.db.execute("INSERT INTO participants (conversation_id, email, role) VALUES (?, ?, ?)",
                          (desk.conversation, MONA, FOLLOWER))
    raw = fixture_bytes("participants/follower_reply_all.eml").replace(b"Cc: support@help.example",
                                                                      b"Cc: support@help.example, " + ZOE.encode())
    d = desk.deliver(raw)
    assert (d.sender_role, d.visibility) == ("follower", "public")
    assert changes(d) == {ZOE: ("ignore", None), BOB: ("ignore", CC), CAROL: ("ignore", CC)}
    assert ZOE not in desk.people() and (desk.people()[BOB], desk.people()[CAROL]) == ((CC, True), (CC, True))
    assert (f"{ZOE} not added as CC: mona@help.example (follower) is not the requester, a CC or an agent"
            in desk.audit())


def test_a_third_party_named_by_the_requester_becomes_a_cc_and_gets_the_history(desk):
    desk.deliver("third_party_reply")
    raw = fixture_bytes("participants/requester_brings_bob_back.eml").replace(
        b"Cc: Bob Builder <bob@customer.example>",
        b"Cc: Bob Builder <bob@customer.example>, Carol Partner <carol@partner.example>, dave@elsewhere.example")
    d = desk.deliver(raw)
    assert changes(d) == {"dave@elsewhere.example": ("role", CC)}
    assert d.participants["added_ccs"] == ["dave@elsewhere.example"]
    assert desk.people()["dave@elsewhere.example"] == (CC, True)
    assert reply_recipients(desk.store.participants(desk.conversation)).cc == [BOB, CAROL, "dave@elsewhere.example"]
    assert any(a.startswith("dave@elsewhere.example is now CC (was Third party): named by") for a in desk.audit())


def test_an_agents_reply_all_brings_removed_ccs_back(desk):
    desk.deliver("requester_plain_reply")
    d = desk.deliver("agent_reply_all")
    assert changes(d) == {"agent@help.example": ("join", AGENT), BOB: ("reactivate", CC),
                          CAROL: ("reactivate", CC)}
    assert (desk.people()[BOB], desk.people()[CAROL]) == ((CC, True), (CC, True))
    assert d.participants["added_ccs"] == []
    assert f"{BOB} is back as CC: named again by agent@help.example (agent) on <agent-all@help.example>" \
        in desk.audit()


def test_a_removed_ccs_own_mail_is_audited_and_does_not_bring_them_back(desk):
    desk.deliver("requester_plain_reply")
    d = desk.deliver("cc_reply_without_requester")
    assert changes(d) == {BOB: ("ignore", CC)}
    assert (f"{BOB} wrote <bob-alone@customer.example> but was removed (CC, inactive): only a mail of the"
            " requester, a CC or an agent naming them brings them back") in desk.audit()


def test_the_sites_own_inboxes_never_join_plus_addressed_or_not(desk):
    desk.configure(inboxes=("support@help.example", "sales@help.example"))
    d = desk.deliver("requester_names_inboxes")  # to support+billing, cc sales, SUPPORT+Urgent, sales+eu
    assert (d.action, d.conversation) == ("threaded", desk.conversation)
    assert changes(d) == {}
    assert desk.people() == {ALICE: (REQUESTER, True), BOB: (CC, True), CAROL: (CC, True)}
    opening = fixture_bytes("participants/requester_names_inboxes.eml").replace(
        b"Message-ID: <alice-inboxes@", b"Message-ID: <zoe-new@").replace(
        b"From: Alice Example <alice@customer.example>", b"From: " + ZOE.encode()).replace(
        b"In-Reply-To: <cc-open@customer.example>\nReferences: <cc-open@customer.example>\n", b"").replace(
        b"Subject: Re: Laptop battery swelling", b"Subject: Invoice question")
    opened = desk.deliver(opening)
    assert opened.action == "new" and opened.conversation != desk.conversation
    assert changes(opened) == {ZOE: ("join", REQUESTER), BOB: ("join", CC), CAROL: ("join", CC)}


def test_internal_users_named_on_a_mail_are_ignored_with_the_reason(desk):
    d = desk.deliver("requester_names_staff")  # to agent@, cc lina@ (light agent)
    assert {e: changes(d)[e] for e in ("agent@help.example", LINA)} == {
        "agent@help.example": ("ignore", None), LINA: ("ignore", None)}
    assert "agent@help.example" not in desk.people() and LINA not in desk.people()
    for who in ("agent@help.example", LINA):
        assert (f"{who} is an internal user: followers are added from the form only, not by email (named by"
                " alice@customer.example (requester) on <alice-staff@customer.example>)") in desk.audit()
    people = desk.store.participants(desk.conversation)
    assert not {"agent@help.example", LINA} & set(reply_recipients(people).cc)
    assert follower_notifications(people, ALICE) == []


def test_a_follower_removed_from_the_form_is_not_brought_back_by_email(desk):
    """mona was a follower (in Frappe any desk user may be one, Support Team or not); removed
    from the form, she is named on a customer's mail, then writes in herself: she stays
    removed and gets no follower notifications (internal notes included)."""
    desk.store.db.execute("INSERT INTO participants (conversation_id, email, role, active) VALUES (?, ?, ?, 0)",
                          (desk.conversation, MONA, FOLLOWER))
    d = desk.deliver("requester_names_staff")
    assert changes(d)[MONA] == ("ignore", FOLLOWER)
    assert desk.people()[MONA] == (FOLLOWER, False)
    assert follower_notifications(desk.store.participants(desk.conversation), ALICE) == []
    assert (f"{MONA} stays an inactive Follower: followers are added from the form only, not by email (named by"
            " alice@customer.example (requester) on <alice-staff@customer.example>)") in desk.audit()
    own = desk.deliver("follower_reply_all")
    assert (own.sender_role, own.visibility) == ("third_party", "private")
    assert changes(own)[MONA] == ("ignore", FOLLOWER) and desk.people()[MONA] == (FOLLOWER, False)
    assert (f"{MONA} wrote <mona-all@help.example> but was removed (Follower, inactive): followers are added"
            " from the form only") in desk.audit()


# -- the CC blocklist holds for CCs added before their pattern -------------------------------


def test_a_removed_cc_on_the_blocklist_is_not_brought_back(desk):
    desk.deliver("requester_plain_reply")  # bob and carol are off
    desk.configure(cc_blocklist=BLOCKLIST + ("*@partner.example",))
    d = desk.deliver("requester_copies_blocked")  # names bob, carol, spy, noreply and frank
    assert (changes(d)[BOB], changes(d)[CAROL]) == (("reactivate", CC), ("ignore", CC))
    assert (desk.people()[BOB], desk.people()[CAROL]) == ((CC, True), (CC, False))
    assert any(a.startswith(f"{CAROL} not added as CC: on the CC blocklist (*@partner.example), named by")
               for a in desk.audit())


def test_replies_leave_out_an_active_cc_on_the_blocklist_and_never_reach_followers(desk):
    desk.deliver("agent_reply_all")  # agent@ joins as Agent
    desk.deliver("third_party_reply")  # dave joins as Third party
    for email, role in ((MONA, FOLLOWER), ("gus@help.example", ASSIGNEE)):
        desk.store.db.execute("INSERT INTO participants (conversation_id, email, role) VALUES (?, ?, ?)",
                              (desk.conversation, email, role))
    desk.configure(cc_blocklist=BLOCKLIST + ("carol@*",))  # carol was added before the pattern
    people = desk.store.participants(desk.conversation)
    assert desk.people()[CAROL] == (CC, True)
    recipients = reply_recipients(people, desk.policy.cc_blocklist)
    assert (recipients.to, recipients.cc) == ([ALICE], [BOB])
    state = desk.store.thread_state(desk.conversation)  # what `reply` writes to
    assert (state["requester"], state["cc"]) == (ALICE, [BOB])
    assert follower_notifications(people, ALICE) == ["agent@help.example", MONA, "gus@help.example"]  # agents follow


# -- requester-less conversations, openings, pure helpers -----------------------------------


def test_the_first_cc_to_write_in_to_our_own_conversation_becomes_its_requester(desk):
    sent = (b"From: support@help.example\nTo: Ivy <ivy@customer.example>\nCc: jo@customer.example\n"
            b"Date: Tue, 17 Nov 2026 09:00:00 +0000\nSubject: Your warranty\nMessage-ID: <w1@help.example>\n\nHello\n")
    desk.conversation = desk.deliver(sent).conversation
    reply = (b"From: Ivy <ivy@customer.example>\nTo: support@help.example\nCc: jo@customer.example\n"
             b"Date: Tue, 17 Nov 2026 10:00:00 +0000\nSubject: Re: Your warranty\nMessage-ID: <ivy1@customer.example>\n"
             b"In-Reply-To: <w1@help.example>\n\nThanks\n")
    d = desk.deliver(reply)
    assert (d.sender_role, d.visibility) == ("cc", "public")
    assert changes(d) == {"ivy@customer.example": ("role", REQUESTER)}
    assert desk.people() == {"ivy@customer.example": (REQUESTER, True), "jo@customer.example": (CC, True)}
    recipients = reply_recipients(desk.store.participants(desk.conversation))
    assert (recipients.to, recipients.cc) == (["ivy@customer.example"], ["jo@customer.example"])


def test_the_opening_mail_lists_no_added_ccs_and_an_agent_writing_in_joins_as_agent(desk):
    assert desk.opened.participants["added_ccs"] == []
    desk.deliver("agent_reply_to_helpdesk")
    assert desk.people()["agent@help.example"] == (AGENT, True)


def test_a_light_agent_is_never_an_agent_whatever_other_roles_they_hold():
    both = Directory(agents=frozenset({LINA, "agent@help.example"}), light_agents=frozenset({LINA}))
    assert not both.is_agent("Lina@Help.Example") and both.is_light_agent("Lina@Help.Example")
    assert both.is_internal(LINA) and both.is_agent("agent@help.example")
    own = Directory(own_addresses=frozenset({"support@help.example"}))
    assert own.is_own("Support+Anything@Help.Example") and not own.is_own("supporter@help.example")


def test_a_mails_followers_are_each_address_once_per_header_in_lower_case():
    message = parse_message(b"From: Alice <Alice@Customer.Example>\nTo: support@help.example, SUPPORT@help.example\n"
                            b"Cc: alice@customer.example, Bob <bob@customer.example>\nMessage-ID: <x@y>\n\nhi\n")
    assert [(f.email, f.header) for f in message_followers(message)] == [
        (ALICE, "From"), ("support@help.example", "To"), (ALICE, "Cc"), (BOB, "Cc")]


def test_unknown_stored_roles_are_followers_and_only_invited_people_vouch():
    assert sender_role_of("Watcher") == "follower" and sender_role_of(None) == "third_party"
    assert [vouches_for_weak_identifiers(r) for r in (REQUESTER, CC, FOLLOWER, AGENT, THIRD_PARTY, None)] == \
        [True, True, True, True, False, False]
