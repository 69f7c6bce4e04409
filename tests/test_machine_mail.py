"""Machine mail: which kind, on what signal, and what routing does with each kind."""

import json

import pytest
from conftest import fixture_bytes

from persona_threading.config import ConfigError, parse_config
from persona_threading.engine.machine_mail import AUTO_REPLY, BOUNCE, BULK, bounced_recipients, classify, is_silent
from persona_threading.engine.message import parse_message
from persona_threading.engine.policy import RoutingPolicy
from persona_threading.engine.router import route


def mail(headers: str, body: str = "Hello.\n") -> bytes:
    base = "From: carol@customer.example\nTo: acme@help.example\nMessage-ID: <m-{}@customer.example>\n"
    return (base.format(abs(hash(headers)) % 10**8) + headers.strip() + "\n\n" + body).encode()


def kind_of(raw: bytes):
    found = classify(parse_message(raw))
    return (found.kind, found.signal) if found else None


STRONG, SUSPECTED = False, True


@pytest.mark.parametrize("headers, kind, suspected", [
    ("Subject: Away\nAuto-Submitted: auto-replied", AUTO_REPLY, STRONG),
    ("Subject: Away\nAuto-Submitted: auto-notified", AUTO_REPLY, STRONG),
    ("Subject: Away\nX-Autoreply: yes", AUTO_REPLY, STRONG),
    ("Subject: Away\nX-Autorespond: Away", AUTO_REPLY, STRONG),
    ("Subject: Away\nX-Autoresponder: 1", AUTO_REPLY, STRONG),
    ("Subject: Away\nX-Auto-Reply: yes", AUTO_REPLY, STRONG),
    ("Subject: We got your request\nX-Auto-Generated: hd-email-feedback", AUTO_REPLY, STRONG),
    ("Subject: Away\nPrecedence: auto_reply", AUTO_REPLY, STRONG),
    ("Subject: Away\nX-Auto-Response-Suppress: All", AUTO_REPLY, SUSPECTED),
    ("Subject: Automatic reply: Printer", AUTO_REPLY, SUSPECTED),
    ("Subject: Abwesenheitsnotiz: Drucker", AUTO_REPLY, SUSPECTED),
    ("Subject: Réponse automatique : Imprimante", AUTO_REPLY, SUSPECTED),
    ("Subject: Respuesta automática: Impresora", AUTO_REPLY, SUSPECTED),
    ("Subject: Out of Office AutoReply: Printer", AUTO_REPLY, SUSPECTED),
    ("Subject: 自動応答: プリンタ", AUTO_REPLY, SUSPECTED),
    ("Subject: Automatic reply: Printer\nPrecedence: junk", AUTO_REPLY, SUSPECTED),  # names the kind
    ("Subject: x\nContent-Type: multipart/report; report-type=delivery-status; boundary=b", BOUNCE, STRONG),
    ("Subject: x\nReturn-Path: <>", BOUNCE, STRONG),
    ("Subject: Undeliverable: Printer", BOUNCE, SUSPECTED),
    ("Subject: x\nX-Failed-Recipients: gone@customer.example", BOUNCE, STRONG),
    ("Subject: Newsletter\nPrecedence: bulk", BULK, STRONG),
    ("Subject: [users] A question\nList-Id: Users <users.lists.example>", BULK, STRONG),
    ("Subject: Sale\nList-Unsubscribe: <mailto:unsub@shop.example>", BULK, STRONG),
    ("Subject: Disk full on db1\nAuto-Submitted: auto-generated", BULK, STRONG),
    ("Subject: Report\nAuto-Submitted: auto-generated\nX-Auto-Response-Suppress: All", BULK, STRONG),
    ("Subject: Printer on floor 3 is broken", None, None),
    ("Subject: Automatic reply not working in Outlook", None, None),  # a person asking for help
    ("Subject: Out of office tomorrow, who covers the printer?", None, None),
    ("Subject: Undeliverable emails to our new domain", None, None),
    ("Subject: Delivery failure", None, None),  # a shop customer's parcel, not a bounce
    ("Subject: x\nAuto-Submitted: no", None, None),
    ("Subject: x\nX-Auto-Generated: no", None, None),
])
def test_each_signal_gives_its_kind_and_strength(headers, kind, suspected):
    found = classify(parse_message(mail(headers)))
    assert ((found.kind, found.suspected) if found else (None, None)) == (kind, suspected), found
    assert is_silent(found) == (kind in (AUTO_REPLY, BOUNCE) and suspected is STRONG)
    assert is_silent(found.as_dict() if found else None) == is_silent(found)


@pytest.mark.parametrize("headers, kind", [
    ("Subject: Out of Office: Printer\nReturn-Path: <>", AUTO_REPLY),
    ("Return-Path: <>\nSubject: Out of Office: Printer", AUTO_REPLY),
    ("Subject: Undeliverable: Printer\nReturn-Path: <>", BOUNCE),
    ("Subject: Auto: Printer\nX-Auto-Generated: ack", AUTO_REPLY),
    ("X-Auto-Response-Suppress: All\nSubject: Undeliverable: x\nX-Failed-Recipients: gone@customer.example", BOUNCE),
    ("Subject: Abwesenheitsnotiz: x\nPrecedence: auto_reply", AUTO_REPLY),
])
def test_a_strong_signal_wins_over_a_weak_one_in_any_order(headers, kind):
    found = classify(parse_message(mail(headers)))
    assert (found.kind, found.suspected, is_silent(found)) == (kind, False, True), found


def test_is_silent_reads_classifications_stored_decisions_and_nothing():
    assert is_silent({"kind": "bounce", "signal": "sent by mailer-daemon@mx.example"})  # stored before 'suspected'
    assert not is_silent({"kind": "auto_reply", "signal": "subject", "suspected": True})
    assert not is_silent({"kind": "bulk", "signal": "Precedence: bulk", "suspected": False})
    assert not any(is_silent(x) for x in (None, {}, "auto_reply", 42, {"kind": ["bounce"]}))


def test_mailer_daemon_sender_is_a_bounce():
    raw = b"From: MAILER-DAEMON@mx.example\nTo: a@help.example\nSubject: Mail delivery failed\n\nx\n"
    assert kind_of(raw) == (BOUNCE, "sent by mailer-daemon@mx.example")
    raw = b"From: Mail Delivery System <MAILER-DAEMON>\nTo: a@help.example\nSubject: x\n\nx\n"
    assert kind_of(raw)[0] == BOUNCE


def test_a_dsn_that_says_auto_replied_is_a_bounce():
    """Exim and Postfix stamp their bounces Auto-Submitted: auto-replied: the report wins."""
    raw = mail("Subject: Undelivered Mail Returned to Sender\nAuto-Submitted: auto-replied\n"
               "Content-Type: multipart/report; report-type=delivery-status; boundary=b")
    assert kind_of(raw)[0] == BOUNCE


def test_a_vacation_notice_with_a_null_return_path_is_an_auto_reply():
    """RFC 3834 asks autoresponders for a null envelope sender too; the header says which."""
    raw = mail("Subject: Away\nReturn-Path: <>\nAuto-Submitted: auto-replied")
    assert kind_of(raw)[0] == AUTO_REPLY


def test_list_mail_with_an_out_of_office_subject_stays_list_mail():
    """A human post must never be lost to a subject guess; list mail is never answered anyway."""
    raw = mail("Subject: Out of Office: meeting notes\nList-Id: Team <team.lists.example>")
    assert kind_of(raw) == (BULK, "List-Id: Team <team.lists.example>")


def test_an_explicit_auto_reply_on_a_list_is_an_auto_reply():
    raw = mail("Subject: Re: [team] notes\nList-Id: Team <team.lists.example>\nAuto-Submitted: auto-replied")
    assert kind_of(raw)[0] == AUTO_REPLY


def test_a_read_receipt_is_an_auto_reply():
    raw = mail("Subject: Read: Printer\nContent-Type: multipart/report; report-type=disposition-notification;"
               " boundary=b")
    assert kind_of(raw)[0] == AUTO_REPLY


def test_classify_never_raises_on_garbage():
    for raw in (b"", b"\x00\xff" * 100, b"Content-Type: multipart/report; report-type=" + b"a" * 100_000,
                b"Subject: " + "Automatic reply".encode() * 5000 + b"\n\n"):
        classify(parse_message(raw))


DSN = b"""From: MAILER-DAEMON@mx.customer.example
To: support@help.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-1@mx.customer.example>
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your mail could not be delivered.
--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.customer.example

Final-Recipient: rfc822; alice.smith@customer.example
Original-Recipient: rfc822;alice@customer.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <alice.smith@customer.example>:
    Recipient address rejected: User unknown

Final-Recipient: rfc822; slow@customer.example
Action: delayed
Status: 4.4.1
--B
Content-Type: message/rfc822

From: support@help.example
Subject: Re: Printer
Message-ID: <agent-a1@help.example>

On it.
--B--
"""


def test_bounced_recipients_reads_the_delivery_status_part():
    bounces = bounced_recipients(parse_message(DSN))
    assert [(b.address, b.status) for b in bounces] == [("alice@customer.example", "5.1.1")]
    assert bounces[0].reason == "550 5.1.1 <alice.smith@customer.example>: Recipient address rejected: User unknown"


def test_bounced_recipients_falls_back_to_exims_header_and_is_empty_for_a_person():
    exim = mail("Subject: Mail delivery failed\nX-Failed-Recipients: gone@customer.example")
    assert [b.address for b in bounced_recipients(parse_message(exim))] == ["gone@customer.example"]
    assert bounced_recipients(parse_message(mail("Subject: Hi"))) == []


def test_bounced_recipients_is_bounded_on_a_huge_report():
    blocks = b"".join(b"Final-Recipient: rfc822; u%d@x.example\nAction: failed\nStatus: 5.1.1\n\n" % i
                      for i in range(5000))
    raw = DSN.replace(b"Reporting-MTA: dns; mx.customer.example\n", b"Reporting-MTA: dns; mx\n\n" + blocks)
    assert len(bounced_recipients(parse_message(raw))) == 100


# -- routing ---------------------------------------------------------------------------

OOO_REPLY = b"""From: alice@customer.example
To: support@help.example
Subject: Automatic reply: Re: Printer on floor 3 is broken
Message-ID: <ooo-threaded@customer.example>
In-Reply-To: <agent-a1@help.example>
Auto-Submitted: auto-replied

I am away until Monday.
"""


def test_an_auto_reply_to_our_reply_threads_silently(world):
    d = world.deliver(OOO_REPLY)
    assert (d.action, d.rule, d.conversation) == ("threaded", "in_reply_to", world.a)
    assert d.machine == {"kind": "auto_reply", "signal": "Auto-Submitted: auto-replied", "suspected": False}


def test_a_bounce_of_our_reply_threads_onto_the_conversation(world):
    bounce = DSN.replace(b"Message-ID: <dsn-1@mx.customer.example>",
                         b"Message-ID: <dsn-1@mx.customer.example>\nIn-Reply-To: <agent-a1@help.example>")
    d = world.deliver(bounce)
    assert (d.action, d.conversation, d.machine["kind"]) == ("threaded", world.a, "bounce")


def test_machine_mail_that_threads_nowhere_is_stored_and_opens_nothing(world):
    d = world.deliver("out_of_office.eml")
    assert (d.action, d.rule, d.conversation) == ("ignored", "auto_reply", None)
    d = world.deliver(DSN)
    assert (d.action, d.rule, d.conversation) == ("ignored", "bounce", None)
    assert world.store.queued() == [] and len(world.store.conversations()) == 2


NEWSLETTER = b"""From: news@shop.example
To: acme@help.example
Subject: Our spring sale
Message-ID: <news-1@shop.example>
Precedence: bulk
List-Id: Shop news <news.shop.example>

Everything half price.
"""


def test_bulk_mail_opens_a_conversation_like_any_mail(world):
    d = world.deliver(NEWSLETTER)
    assert (d.action, d.rule, d.project) == ("new", "single_scope", "ACME") and d.conversation
    assert d.machine == {"kind": "bulk", "signal": "List-Id: Shop news <news.shop.example>", "suspected": False}


def test_bulk_mail_action_queue_sends_unthreaded_bulk_mail_to_a_reviewer(world):
    message = parse_message(NEWSLETTER)
    d = route(message, world.store, world.keyring, policy=RoutingPolicy(bulk_mail_action="queue"))
    assert (d.action, d.rule, d.project) == ("queued", "bulk_mail", None)
    assert "bulk_mail_action is queue" in d.evidence and "single_scope would have opened it" in d.evidence
    world.store.record(message, d)
    assert [q["message_id"] for q in world.store.queued()] == ["news-1@shop.example"]


def test_bulk_mail_that_threads_still_threads_with_queue(world):
    reply = NEWSLETTER.replace(b"Message-ID: <news-1@shop.example>",
                               b"Message-ID: <news-2@shop.example>\nIn-Reply-To: <agent-a1@help.example>")
    d = route(parse_message(reply), world.store, world.keyring, policy=RoutingPolicy(bulk_mail_action="queue"))
    assert (d.action, d.conversation) == ("threaded", world.a)


def test_explain_names_the_kind_and_the_signal(world):
    text = world.decide(fixture_bytes("out_of_office.eml"), exhaustive=True).explain()
    assert "[machine] auto_reply: Auto-Submitted: auto-replied" in text


def test_bulk_mail_action_config_key():
    assert parse_config({"policy": {"bulk_mail_action": "queue"}}).policy.bulk_mail_action == "queue"
    assert parse_config({}).policy.bulk_mail_action == "open"
    with pytest.raises(ConfigError, match="bulk_mail_action"):
        parse_config({"policy": {"bulk_mail_action": "drop"}})


def test_route_json_reports_machine_and_bulk_queue(tmp_path):
    from test_cli import CONFIG, decisions, run

    (tmp_path / "news.eml").write_bytes(NEWSLETTER)
    [d] = decisions(run(tmp_path, "route", "--json", "--dry-run", str(tmp_path / "news.eml")))
    assert d["machine"]["kind"] == "bulk" and d["action"] == "new"
    config = tmp_path / "queue.toml"
    config.write_text(CONFIG + '[policy]\nbulk_mail_action = "queue"\n')
    out = run(tmp_path, "--config", str(config), "route", "--json", str(tmp_path / "news.eml"), config=False)
    [d] = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert (d["action"], d["rule"]) == ("queued", "bulk_mail")
