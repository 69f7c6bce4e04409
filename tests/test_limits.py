"""Automatic replies: who gets one, the windows, the flood guard, and loops that end by themselves."""

import json
from datetime import datetime, timedelta, timezone

from conftest import configure

from persona_threading.cli import App
from persona_threading.engine.decision import Decision
from persona_threading.engine.limits import (AutoReplyPolicy, FloodGuard, mail_time, never_answer_match,
                                             should_auto_reply)
from persona_threading.engine.message import parse_message

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def new_mail(sender="carol@customer.example", subject="Printer broken", number=1, date=NOW, extra=""):
    return (f"From: {sender}\nTo: acme@help.example\nSubject: {subject}\n"
            f"Message-ID: <m{number}-{abs(hash((sender, subject))) % 10**6}@customer.example>\n"
            f"Date: {date.strftime('%a, %d %b %Y %H:%M:%S +0000')}\n{extra}\nPlease help.\n").encode()


def app(tmp_path=None) -> App:
    application = App(":memory:", None)
    configure(application.store)
    return application


def test_a_new_mail_gets_an_auto_reply_and_a_threaded_reply_does_not():
    a = app()
    decision, verdict = a.handle(new_mail(), NOW)
    assert decision.action == "new" and verdict.send
    reply = (f"From: carol@customer.example\nTo: acme@help.example\nSubject: Re: Printer broken\n"
             f"Message-ID: <r1@customer.example>\nIn-Reply-To: <{decision.message_id}>\n\nMore.\n").encode()
    decision, verdict = a.handle(reply, NOW + timedelta(hours=3))
    assert decision.action == "threaded" and not verdict.send
    assert "only a mail that opens a new conversation" in verdict.reason


def test_machine_mail_is_never_answered():
    a = app()
    _, verdict = a.handle(new_mail(subject="Weekly report", extra="Precedence: bulk\n"), NOW)
    assert not verdict.send and verdict.reason.startswith("machine mail is never answered (bulk")
    decision, verdict = a.handle(new_mail(subject="Away", extra="Auto-Submitted: auto-replied\n", number=2), NOW)
    assert decision.action == "ignored" and not verdict.send


def test_never_answer_patterns_match_the_local_part_or_the_whole_address():
    assert never_answer_match("NoReply@shop.example") == "noreply*"
    assert never_answer_match("bounces-123@lists.example") == "bounce*"
    assert never_answer_match("mailer-daemon@mx.example") == "mailer-daemon"
    assert never_answer_match("carol@customer.example") is None
    assert never_answer_match("alerts@monitor.example", ("*@monitor.example",)) == "*@monitor.example"
    _, verdict = app().handle(new_mail(sender="bounce-handler@shop.example"), NOW)
    assert not verdict.send and "never-answer pattern 'bounce*'" in verdict.reason


def test_mail_from_our_own_inbox_is_never_answered():
    a = app()
    decision = Decision("x@help.example", "new", "new", "")
    message = parse_message(new_mail(sender="support@help.example"))
    verdict = should_auto_reply(message, decision, a.store, NOW)
    assert not verdict.send and "one of the site's own inboxes" in verdict.reason


def test_old_mail_gets_no_auto_reply_but_still_opens_a_conversation():
    a = app()
    a.config.auto_reply = AutoReplyPolicy(max_age_hours=24)
    decision, verdict = a.handle(new_mail(date=NOW - timedelta(days=3)), NOW)
    assert decision.action == "new" and not verdict.send
    assert verdict.reason == "the mail is 72.0 hours old (limit 24)"
    _, verdict = a.handle(new_mail(sender="dan@customer.example", date=NOW - timedelta(hours=2)), NOW)
    assert verdict.send


def test_a_date_in_the_future_or_missing_counts_as_the_fetch_time():
    assert mail_time("Tue, 1 Jan 2036 00:00:00 +0000", NOW) == NOW
    assert mail_time("", NOW) == NOW and mail_time("not a date", NOW) == NOW
    assert mail_time("Mon, 02 Mar 2026 08:00:00 +0000", NOW) == NOW - timedelta(hours=1)


def at(minutes: float, subject: str) -> tuple[bytes, datetime]:
    """A new mail written and fetched ``minutes`` after NOW."""
    when = NOW + timedelta(minutes=minutes)
    return new_mail(subject=subject, number=int(minutes * 60), date=when), when


def test_one_automatic_mail_per_address_per_window():
    a = app()
    assert a.handle(*at(0, "One"))[1].send
    _, second = a.handle(*at(20, "Two"))
    assert not second.send and "in the last 60 minutes (one per window)" in second.reason
    assert a.handle(*at(61, "Three"))[1].send


def test_at_most_n_automatic_mails_per_conversation_a_day():
    a = app()
    decision, _ = a.handle(new_mail(), NOW)
    for minutes in (1, 2):
        a.store.record_auto_reply(decision.conversation, f"x{minutes}@customer.example", True, "seed",
                                  NOW + timedelta(minutes=minutes))
    message = parse_message(new_mail(sender="erin@customer.example", number=9))
    verdict = should_auto_reply(message, decision, a.store, NOW + timedelta(minutes=5),
                                AutoReplyPolicy(per_conversation_per_day=3))
    assert not verdict.send and verdict.reason == f"conversation {decision.conversation} already had 3 automatic mails today"


def test_switched_off_sends_nothing():
    a = app()
    a.config.auto_reply = AutoReplyPolicy(enabled=False)
    assert a.handle(new_mail(), NOW)[1] == (False, "automatic reply is switched off for this inbox")


def test_a_flood_opens_at_most_the_threshold_and_gets_one_automatic_mail():
    """50 distinct new mails from one sender within a minute: 10 conversations, 40 queued."""
    a = app()
    results = [a.handle(*at(n / 60, f"Problem {n}")) for n in range(50)]
    actions = [d.action for d, _ in results]
    assert actions.count("new") == 10 and actions.count("queued") == 40
    queued = [d for d, _ in results if d.action == "queued"]
    assert all(d.rule == "flood_guard" for d in queued)
    assert queued[0].evidence.startswith("flood guard: carol@customer.example opened 10 conversations in the"
                                         " last 10 minutes (limit 10)")
    assert sum(v.send for _, v in results) == 1
    assert len(a.store.queued()) == 40
    # The window passes: the sender opens conversations again.
    later, _ = a.handle(*at(15, "Later"))
    assert later.action == "new"


def test_the_flood_guard_counts_per_sender_and_can_be_switched_off():
    a = app()
    a.config.flood_guard = FloodGuard(conversations=0)
    results = [a.handle(new_mail(subject=f"P{n}", number=n), NOW) for n in range(15)]
    assert all(d.action == "new" for d, _ in results)


AUTORESPONDER = """From: peer@lime.example
To: acme@help.example
Subject: We got your message {n} - case {n}
Message-ID: <peer-auto-{n}@lime.example>
Date: {date}

Thank you, we will get back to you.
"""


def test_lime_crm_loop_ends_after_the_first_round():
    """A peer whose autoresponder strips every header and rewrites the subject answers each of
    our auto-replies. We answer its first mail, nothing after: the loop stops by itself."""
    a = app()
    first, verdict = a.handle(new_mail(sender="peer@lime.example", subject="Hello"), NOW)
    opened, rounds = {first.conversation}, 0
    while verdict.send and rounds < 5:  # the peer answers each auto-reply we send, 30 s later
        rounds += 1
        when = NOW + timedelta(seconds=30 * rounds)
        raw = AUTORESPONDER.format(n=rounds, date=when.strftime("%a, %d %b %Y %H:%M:%S +0000")).encode()
        decision, verdict = a.handle(raw, when)
        opened.add(decision.conversation)
    assert rounds == 1, "its first answer gets no auto-reply, so there is no second"
    assert len(opened) == 2
    assert a.store.automatic_mails_to("peer@lime.example", NOW - timedelta(days=1)) == 1


def test_route_json_reports_the_auto_reply_and_show_audits_it(tmp_path):
    from test_cli import decisions, run

    (tmp_path / "a.eml").write_bytes(new_mail(date=datetime.now(timezone.utc)))
    (tmp_path / "b.eml").write_bytes(new_mail(subject="Second", number=2, date=datetime.now(timezone.utc)))
    first, second = decisions(run(tmp_path, "route", "--json", str(tmp_path / "a.eml"), str(tmp_path / "b.eml")))
    assert first["auto_reply"] == {"send": True, "reason": "a new conversation from carol@customer.example,"
                                                          " within every limit"}
    assert second["auto_reply"]["send"] is False and "one per window" in second["auto_reply"]["reason"]
    shown = json.loads(run(tmp_path, "show", first["conversation"], "--json").stdout)
    assert [row["event"] for row in shown["audit"]].count("auto_reply") == 1
