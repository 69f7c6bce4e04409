"""Replaying history against another system's tickets: `Replayer` and `persona-threading compare`.

Each test plants the disagreements a user would look for and asserts that exactly those are
listed, with the rule the engine used, and nothing else.
"""

import csv
import io
import json
import re

import pytest
from conftest import CORPORA, fixture_bytes

from persona_threading import cli
from persona_threading.config import Config
from persona_threading.engine.message import parse_message
from persona_threading.replay import CSV_COLUMNS, MappingError, Replayer, message_key, oldest_first, ticket_map
from persona_threading.store.sqlite import InboxConfig, ProjectConfig, UserConfig

HELPDESK = Config(projects=[ProjectConfig("ACME"), ProjectConfig("BETA")],
                  inboxes=[InboxConfig("support@help.example"),
                           InboxConfig("sales@help.example", ("ACME", "BETA"))],
                  users=[UserConfig("agent@help.example")])
RFC3834 = CORPORA / "sisimai-set-of-emails" / "maildir" / "bsd"


def mail(mid, subject, sender="bob@client.example", to="support@help.example", hour=12, extra="",
         body="Hello, please help."):
    return (f"From: {sender}\nTo: {to}\nDate: Wed, 18 Nov 2026 {hour:02d}:00:00 +0000\nSubject: {subject}\n"
            f"Message-ID: <{mid}>\n{extra}MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
            f"{body}\n").encode()


def sent(mid, subject, to="alice@customer.example", in_reply_to="orig-a@customer.example", hour=11):
    return mail(mid, subject, sender="support@help.example", to=to, hour=hour,
                extra=f"In-Reply-To: <{in_reply_to}>\nReferences: <{in_reply_to}>\n", body="On it.")


def feed(replayer, raw, ticket, ref=None, **kwargs):
    message = parse_message(raw)
    return replayer.feed_received(message, ticket, ref or message.message_id, **kwargs)


def listed(report):
    return [(c.message_id, c.outcome, c.rule, c.engine_ticket, c.their_ticket) for c in report.disagreements]


def test_each_kind_of_disagreement_is_listed_with_its_rule_and_nothing_else():
    with Replayer(HELPDESK) as r:
        assert feed(r, fixture_bytes("original_a.eml"), "T1").outcome == "same"
        r.feed_sent(parse_message(sent("sent-1@help.example", "Re: Printer on floor 3 is broken")), "T1")
        # The customer answers the sent mail; they put it on the same ticket.
        answer = mail("answer@customer.example", "Re: Printer on floor 3 is broken", sender="alice@customer.example",
                      hour=13, extra="In-Reply-To: <sent-1@help.example>\n")
        assert (feed(r, answer, "T1").outcome, r.report.rules["in_reply_to"]) == ("same", {"compared": 1, "disagreements": 0})
        # References only: they opened a new ticket for it.
        feed(r, fixture_bytes("references_only.eml"), "T2")
        # A stranger's generic subject: they guessed it onto Alice's ticket.
        feed(r, mail("stranger@client.example", "Re: Printer on floor 3 is broken", hour=14), "T1")
        # An out-of-office threading nowhere: they made a ticket of it.
        feed(r, fixture_bytes("out_of_office.eml"), "T3")
        # The multi-project inbox has no route for it: the engine queues, they opened a ticket.
        feed(r, mail("sales-q@client.example", "Pricing", to="sales@help.example", hour=15), "T4")
        # Carol forwards Alice's thread (In-Reply-To the sent mail); they filed it under Carol's ticket.
        assert feed(r, mail("carol-1@partner.example", "Toner", sender="carol@partner.example", hour=16), "T5").agrees
        feed(r, mail("carol-2@partner.example", "Fwd: printer", sender="carol@partner.example", hour=17,
                     extra="In-Reply-To: <sent-1@help.example>\n"), "T5")
        assert feed(r, mail("nobody-knows@client.example", "hi", hour=18), None, mapped=False).outcome == "unmapped"
        assert feed(r, sent("sent-2@help.example", "Re: Toner", to="carol@partner.example",
                            in_reply_to="carol-1@partner.example", hour=19), "T5") is None
        assert r.feed_sent(parse_message(sent("sent-3@help.example", "Re: other")), "T99") is None
        report = r.report

    assert listed(report) == [
        ("r-refs@customer.example", "existing_instead_of_new", "references", "T1", "T2"),
        ("stranger@client.example", "new_instead_of_existing", "new", None, "T1"),
        ("ooo@customer.example", "ignored", "auto_reply", None, "T3"),
        ("sales-q@client.example", "queued", "manual_queue", None, "T4"),
        ("carol-2@partner.example", "other_ticket", "in_reply_to", "T1", "T5"),
    ]
    assert report.outcomes == {"same": 3, "other_ticket": 1, "new_instead_of_existing": 1,
                               "existing_instead_of_new": 1, "queued": 1, "ignored": 1, "no_ticket": 0,
                               "unmapped": 1}
    assert report.not_compared == {"outbound": 1, "sent": 1, "sent_skipped": 1}
    assert report.rules["new"] == {"compared": 3, "disagreements": 1}
    assert "unmapped" not in json.dumps(report.rules)


def test_a_reply_to_a_sent_mail_threads_only_when_the_sent_mail_was_fed():
    answer = mail("answer@customer.example", "Re: Printer", sender="alice@customer.example", hour=13,
                  extra="In-Reply-To: <sent-1@help.example>\n")
    for fed_sent, expected in ((True, ("same", "in_reply_to", "T1")), (False, ("new_instead_of_existing", "new", None))):
        with Replayer(HELPDESK) as r:
            feed(r, fixture_bytes("original_a.eml"), "T1")
            if fed_sent:
                assert r.feed_sent(parse_message(sent("sent-1@help.example", "Re: Printer")), "T1").action == "outbound"
            found = feed(r, answer, "T1")
        assert (found.outcome, found.rule, found.engine_ticket) == expected


def test_a_sent_mail_goes_to_the_conversation_it_answers_when_the_engine_split_their_ticket():
    with Replayer(HELPDESK) as r:
        feed(r, mail("first@client.example", "Broken", hour=9), "T1")
        split = feed(r, mail("second@client.example", "Also broken", sender="dan@client.example", hour=10), "T1")
        assert split.outcome == "new_instead_of_existing"
        r.feed_sent(parse_message(sent("s@help.example", "Re: Broken", to="bob@client.example",
                                       in_reply_to="first@client.example")), "T1")
        reply = feed(r, mail("r@client.example", "Re: Broken", hour=12, extra="In-Reply-To: <s@help.example>\n"), "T1")
        first = r.session.store.messages_by_ids(["first@client.example"])[0].conversation
        assert r.session.store.messages_by_ids(["r@client.example"])[0].conversation == first
    assert (reply.outcome, reply.rule) == ("same", "in_reply_to")


def test_mail_they_left_off_every_ticket():
    with Replayer(HELPDESK) as r:
        spam = feed(r, mail("promo@shop.example", "Big sale", sender="news@shop.example", hour=9), None)
        ooo = feed(r, fixture_bytes("out_of_office.eml"), None)
        follow_up = feed(r, mail("promo-2@shop.example", "Re: Big sale", sender="news@shop.example", hour=10,
                                 extra="In-Reply-To: <promo@shop.example>\n"), "T7")
    assert (spam.outcome, ooo.outcome) == ("no_ticket", "same")
    assert (follow_up.outcome, follow_up.engine_ticket) == ("existing_instead_of_new", "new:promo@shop.example")


def test_a_conversation_opened_by_an_unmapped_mail_takes_the_ticket_of_its_first_mapped_reply():
    with Replayer(HELPDESK) as r:
        feed(r, mail("old@client.example", "Broken", hour=9), None, mapped=False)
        reply = feed(r, mail("r1@client.example", "Re: Broken", hour=10, extra="In-Reply-To: <old@client.example>\n"), "T8")
        again = feed(r, mail("r2@client.example", "Re: Broken", hour=11, extra="In-Reply-To: <r1@client.example>\n"), "T9")
    assert (reply.outcome, reply.engine_ticket) == ("same", "T8")
    assert (again.outcome, again.engine_ticket) == ("existing_instead_of_new", "T8")


def test_tokens_of_our_own_app_name_the_replayed_conversation_when_its_identity_is_known():
    """A replay of what our app routed: its tokens carry the site's keys; with the site's
    secret and each ticket's key the token-only reply threads as it did live."""
    from dataclasses import replace

    from persona_threading.engine.carriers import Keyring, thread_token

    site = replace(HELPDESK, secret="site-secret")
    key = Keyring.mint_key()
    token_only = mail("t-1@customer.example", f"Re: Printer {thread_token(Keyring('site-secret').token(key))}",
                      sender="alice@customer.example", hour=13)
    agent_first = Keyring.mint_key()  # a ticket an agent opened by writing to the customer
    keys = {"T1": key, "T2": agent_first}
    answer = mail("t-2@customer.example", f"Re: Toner {thread_token(Keyring('site-secret').token(agent_first))}",
                  sender="bob@customer.example", hour=15)
    outcomes = []
    for identity in (None, lambda ticket: (keys.get(ticket), None)):
        with Replayer(site, identity) as r:
            feed(r, mail("o-1@customer.example", "Printer", sender="alice@customer.example"), "T1")
            outcomes.append((feed(r, token_only, "T1").outcome, dict(r.report.rules.get("token", {}))))
            r.feed_sent(parse_message(sent("s-2@help.example", "Toner", to="bob@customer.example", hour=14)), "T2")
            outcomes.append(feed(r, answer, "T2").outcome)
    assert outcomes == [("new_instead_of_existing", {}), "new_instead_of_existing",
                        ("same", {"compared": 1, "disagreements": 0}), "same"]


def test_a_replay_of_our_own_routing_names_what_depends_on_time_or_was_changed_later():
    from persona_threading.replay import LiveDecision

    with Replayer(HELPDESK) as r:
        feed(r, mail("c-1@customer.example", "Invoice", sender="carol@customer.example", hour=9), "T1")
        # live, T1 was closed: the reply opened the linked ticket T2 (lifecycle)
        linked = feed(r, mail("c-2@customer.example", "Re: Invoice", sender="carol@customer.example", hour=10,
                              extra="In-Reply-To: <c-1@customer.example>\n"), "T2",
                      live=LiveDecision("new", "in_reply_to", "T2"))
        # live it threaded onto T1; an agent moved it to T3 afterwards
        feed(r, mail("d-1@customer.example", "Toner", sender="dave@customer.example", hour=11), "T3")
        moved = feed(r, mail("c-3@customer.example", "Re: Invoice", sender="carol@customer.example", hour=12,
                             extra="In-Reply-To: <c-1@customer.example>\n"), "T3",
                     live=LiveDecision("threaded", "in_reply_to", "T1"))
        # live it waited in the queue; a reviewer placed it on T1
        placed = feed(r, mail("q-1@client.example", "Pricing", to="sales@help.example", hour=13), "T1",
                      live=LiveDecision("queued", "manual_queue", None))
        # the same difference without a live decision stays a disagreement
        feed(r, mail("c-4@customer.example", "Re: Invoice", sender="carol@customer.example", hour=14,
                     extra="In-Reply-To: <c-1@customer.example>\n"), "T3")
        report = r.report
    assert [c.ref for c in report.named] == ["c-2@customer.example", "c-3@customer.example", "q-1@client.example"]
    assert report.explained == {"time_dependent": 1, "changed_later": 2}
    assert "closed" in linked.cause and "moved after routing" in moved.cause and "reviewer" in placed.cause
    assert listed(report) == [("c-4@customer.example", "other_ticket", "in_reply_to", "T1", "T3")]
    assert report.compared == 6 and report.as_dict()["named"][0]["cause"] == linked.cause
    # three of the six were routed live by the app, the rest by the other system: the summary says so
    assert report.summary_lines()[0].startswith(
        "compared 6 mails with their tickets (3 routed live by this app, 3 by the other system): 2 agree")


def test_a_difference_that_is_only_the_flood_guard_is_named_time_dependent_not_a_disagreement():
    """The flood guard counts in a window of arrival times: a replay by Date queues a mail that
    opened a ticket live (fetched late, spread out), and opens one that live waited in the queue
    (fetched in one batch) and a reviewer then placed. Neither is a disagreement the admin reads."""
    from dataclasses import replace

    from persona_threading.engine.limits import FloodGuard
    from persona_threading.replay import LiveDecision

    def new_order(i, minute):
        return mail(f"o-{i}@shop.example", f"Order {i}", sender="erin@shop.example").replace(
            b"12:00:00", f"12:{minute:02d}:00".encode())

    with Replayer(replace(HELPDESK, flood_guard=FloodGuard(conversations=3, minutes=10))) as r:
        for i in range(3):
            feed(r, new_order(i, i), f"T{i}", live=LiveDecision("new", "new", f"T{i}"))
        # live the fourth opened T3: it arrived after the window had passed
        opened_live = feed(r, new_order(3, 3), "T3", live=LiveDecision("new", "new", "T3"))
        # a new mail an hour later; live the fetch brought it with a burst, it was queued, a reviewer put it on T0
        queued_live = feed(r, new_order(4, 0).replace(b"12:00:00", b"13:00:00"), "T0",
                           live=LiveDecision("queued", "flood_guard", None))
        report = r.report
    assert (opened_live.outcome, opened_live.rule) == ("queued", "flood_guard")
    assert (queued_live.outcome, queued_live.rule) == ("new_instead_of_existing", "new")
    assert listed(report) == [] and report.as_dict()["disagree"] == 0
    assert report.explained == {"time_dependent": 2, "changed_later": 0}
    assert "did not queue" in opened_live.cause and "live it queued" in queued_live.cause
    assert report.compared == 5 and report.outcomes["same"] == 3
    summary = "\n".join(report.summary_lines())
    assert summary.startswith("compared 5 mails with the tickets this app put them on live: 3 agree, 0 disagree")
    assert "disagreements: none" in summary
    assert "2 depend on time (flood guard" in summary
    assert f"o-3@shop.example: {opened_live.cause}" in summary and "o-4@shop.example: the flood guard" in summary


@pytest.mark.skipif(not RFC3834.is_dir(), reason="shared corpora (sisimai) not present")
def test_real_out_of_office_replies_stay_on_their_ticket_or_are_ignored():
    """sisimai's rfc3834 set: Exchange, Apple and others' vacation replies, which stock Frappe
    makes tickets of. The Apple one answers a mail the helpdesk sent: it stays on that ticket."""
    apple = "25203A4E-F90F-4A14-BF51-3E7B9D39BE8E@libsisimai.org"
    with Replayer(Config(inboxes=[InboxConfig("neko@libsisimai.org")])) as r:
        feed(r, mail("kickoff@apple.example.com", "Nyaan", sender="kijitora@apple.example.com",
                     to="neko@libsisimai.org"), "T1")
        r.feed_sent(parse_message(sent(apple, "Re: Nyaan", to="kijitora@apple.example.com",
                                       in_reply_to="kickoff@apple.example.com")), "T1")
        found = {path.name: feed(r, path.read_bytes(), "T1" if path.name == "rfc3834-03.eml" else f"OOO-{path.name}",
                                 ref=path.name)
                 for path in sorted(RFC3834.glob("rfc3834-0*.eml"))}
    assert (found["rfc3834-03.eml"].outcome, found["rfc3834-03.eml"].rule) == ("same", "in_reply_to")
    others = {name: (c.outcome, c.rule) for name, c in found.items() if name != "rfc3834-03.eml"}
    assert others == {name: ("ignored", "auto_reply") for name in others} and len(others) == 5
    assert [c.ref for c in r.report.disagreements] == sorted(others)


def test_oldest_first_sorts_by_date_and_dateless_mail_keeps_its_place():
    items = [("c", "Wed, 18 Nov 2026 12:00:00 +0000"), ("none-1", None), ("a", "Wed, 18 Nov 2026 09:00:00 +0000"),
             ("b", "Wed, 18 Nov 2026 10:00:00 +0200"), ("a2", "Wed, 18 Nov 2026 09:00:00 +0000"), ("junk", "not a date")]
    order = [name for (name, _), _ in oldest_first(items, lambda item: item[1])]
    assert order == ["b", "a", "a2", "junk", "c", "none-1"]
    leading = [name for (name, _), _ in oldest_first([("x", None), ("y", "Wed, 18 Nov 2026 09:00:00 +0000")],
                                                     lambda item: item[1])]
    assert leading == ["x", "y"]


def test_mapping_keys_follow_the_engines_message_id_normalisation():
    tickets = ticket_map({"<Abc.1@Mail.Example>": "T1", " x@y.EXAMPLE ": None, "<no-at-sign>": "T2"})
    assert tickets == {"Abc.1@mail.example": "T1", "x@y.example": None, "no-at-sign": "T2"}
    assert message_key(parse_message(b"Message-ID: <Abc.1@MAIL.example>\n\nx").message_id) == "Abc.1@mail.example"
    assert message_key("abc.1@mail.example") != "Abc.1@mail.example"  # the local part keeps its case
    with pytest.raises(MappingError, match="another ticket"):
        ticket_map({"<a@x.example>": "T1", "a@X.example": "T2"})
    for bad in ([], "x", {"a@x": 5}, {"a@x": ""}, {"a@x": ["T1"]}):
        with pytest.raises(MappingError):
            ticket_map(bad)


# -- the command ---------------------------------------------------------------------------

CONFIG = '[[inbox]]\naddress = "support@help.example"\n'


def history(tmp_path):
    """Five mails, written in reverse order (as a Maildir sorted by a random name would be)."""
    files = {
        "5.eml": mail("hostile@evil.example", "\x1b[2Jwipe \u202eevil", sender="mallory@evil.example", hour=16),
        "4.eml": fixture_bytes("out_of_office.eml"),
        "3.eml": fixture_bytes("references_only.eml").replace(b"10:00:00", b"12:00:00"),
        "2.eml": fixture_bytes("agent_reply_a.eml"),
        "1.eml": fixture_bytes("original_a.eml"),
    }
    paths = []
    for name, raw in files.items():
        (tmp_path / name).write_bytes(raw)
        paths.append(str(tmp_path / name))
    (tmp_path / "map.json").write_text(json.dumps({
        "<orig-a@customer.example>": "ISS-1", "agent-a1@HELP.EXAMPLE": "ISS-1", "r-refs@customer.example": "ISS-2",
        "ooo@customer.example": "ISS-3", "hostile@evil.example": "ISS-4"}))
    (tmp_path / "help.toml").write_text(CONFIG)
    return paths


def compare(tmp_path, capsys, *args):
    db = tmp_path / "db.sqlite3"
    code = cli.main(["--db", str(db), "--config", str(tmp_path / "help.toml"), "compare", *args])
    out, err = capsys.readouterr()
    assert not db.exists()  # compare replays in a store of its own
    return code, out, err


def test_compare_json_lists_the_disagreements_found_in_date_order(tmp_path, capsys):
    paths = history(tmp_path)
    code, out, err = compare(tmp_path, capsys, str(tmp_path / "map.json"), *paths, "--json", "--csv",
                             str(tmp_path / "out.csv"))
    assert code == 0, err
    report = json.loads(out)
    assert [(d["message_id"], d["outcome"], d["rule"], d["engine_ticket"], d["their_ticket"])
            for d in report["disagreements"]] == [
        ("r-refs@customer.example", "existing_instead_of_new", "references", "ISS-1", "ISS-2"),
        ("ooo@customer.example", "ignored", "auto_reply", None, "ISS-3")]
    assert (report["compared"], report["agree"], report["disagree"]) == (4, 2, 2)
    assert report["not_compared"]["outbound"] == 1 and report["outcomes"]["unmapped"] == 0
    assert report["disagreements"][0]["explanation"].startswith("threaded by references")
    assert report["disagreements"][0]["ref"] == paths[2]
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["message_id"], row["outcome"], row["rule"], row["engine_ticket"], row["their_ticket"]) for row in rows] == [
        ("r-refs@customer.example", "existing_instead_of_new", "references", "ISS-1", "ISS-2"),
        ("ooo@customer.example", "ignored", "auto_reply", "", "ISS-3")]
    assert list(rows[0]) == ["ref", "message_id", "date", "sender", "subject", "outcome", "rule",
                             "engine_ticket", "their_ticket", "explanation"] == list(CSV_COLUMNS)
    assert rows[0]["date"] == "Tue, 17 Nov 2026 12:00:00 +0000" and rows[0]["sender"] == "alice@customer.example"
    assert "replayed" in err and err.count("\n") == 1


def test_compare_summary_is_terminal_safe_and_explains_each_disagreement(tmp_path, capsys):
    paths = history(tmp_path)
    (tmp_path / "map.json").write_text(json.dumps({"orig-a@customer.example": "ISS-1",
                                                   "hostile@evil.example": "ISS-1"}))
    code, out, err = compare(tmp_path, capsys, str(tmp_path / "map.json"), *paths)
    assert code == 0, err
    assert out.startswith("compared ") and " mails with the other system's tickets: " in out.splitlines()[0]
    assert "\x1b" not in out and "\u202e" not in out
    assert "new_instead_of_existing: " in out and "Subject: \\x1b[2Jwipe \\u202eevil" in out
    assert "    engine: new by new (a new conversation); they: ISS-1\n    | new by new -> conversation 2" in out
    assert out.count("\n  new_instead_of_existing: ") == 1 and out.count("disagreements:") == 1
    assert len(re.findall(r"\n  \S", out.split("disagreements:")[1])) == 1  # that one mail, then its explanation
    lines = out.splitlines()
    assert lines[lines.index("outcomes:") + 1].split() == ["same", "1"]
    assert [line.split() for line in lines if line.startswith("  unmapped")] == [["unmapped", "2"]]


def test_a_csv_cell_a_spreadsheet_would_run_is_quoted():
    with Replayer(HELPDESK) as r:
        feed(r, mail("a@client.example", "Broken", hour=9), "T1")
        feed(r, mail("b@client.example", "=HYPERLINK(\"http://evil.example\")", hour=10), "T1")
        out = io.StringIO()
        r.report.write_csv(out)
    row = list(csv.DictReader(io.StringIO(out.getvalue())))[0]
    assert row["subject"] == "'=HYPERLINK(\"http://evil.example\")" and row["outcome"] == "new_instead_of_existing"


@pytest.mark.parametrize("content, says", [
    (None, "cannot read"),
    (b"{not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[" * 100000, "not JSON"),
    (b'["a@x.example"]', "expected a JSON object"),
    (b'{"a@x.example": 42}', "must be a non-empty string or null, not a number"),
])
def test_a_bad_mapping_is_one_line_on_stderr(tmp_path, capsys, content, says):
    paths = history(tmp_path)
    mapping = tmp_path / "bad.json"
    if content is not None:
        mapping.write_bytes(content)
    code, out, err = compare(tmp_path, capsys, str(mapping), *paths)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and says in err and "Traceback" not in err
    assert err.startswith("persona-threading: ") and str(mapping) in err
