"""The persona-threading command, as a user runs it."""

import json
import os
import subprocess
import sys

import pytest
from conftest import FIXTURES

from persona_threading.demo.client import customer_reply

CONFIG = """
secret = "cli-secret"
[[project]]
prefix = "ACME"
[[project]]
prefix = "BETA"
[[inbox]]
address = "support@help.example"
projects = ["ACME", "BETA"]
[[inbox]]
address = "acme@help.example"
projects = ["ACME"]
[[user]]
email = "agent@help.example"
"""


def run(tmp_path, *args, stdin=None, config=True):
    cmd = [sys.executable, "-m", "persona_threading", "--db", str(tmp_path / "db.sqlite3")]
    if config:
        (tmp_path / "config.toml").write_text(CONFIG)
        cmd += ["--config", str(tmp_path / "config.toml")]
    return subprocess.run(cmd + list(args), input=stdin, capture_output=True, cwd=tmp_path)


def decisions(result):
    assert result.returncode == 0, result.stderr.decode()
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def test_route_json_has_the_documented_fields(tmp_path):
    [d] = decisions(run(tmp_path, "route", "--json", str(FIXTURES / "new_to_acme.eml")))
    for key in ("message_id", "action", "conversation", "rule", "evidence", "project", "attempts"):
        assert key in d
    assert d["message_id"] == "n-acme@customer.example"
    assert (d["action"], d["rule"], d["project"]) == ("new", "single_scope", "ACME")
    assert {"rule", "matched", "evidence"} <= set(d["attempts"][0])
    assert d["submitted_by"] == "alice@customer.example"


def test_reply_then_customer_answer_threads_back(tmp_path):
    [first] = decisions(run(tmp_path, "route", "--json", str(FIXTURES / "new_to_acme.eml")))
    out = tmp_path / "reply.eml"
    result = run(tmp_path, "reply", first["conversation"], "--from", "acme@help.example",
                 "--body", "On it.", "--out", str(out))
    assert result.returncode == 0, result.stderr
    agent = out.read_bytes()
    assert b"In-Reply-To: <n-acme@customer.example>" in agent
    answer = customer_reply(agent, "alice@customer.example", "thanks", subject="edited",
                            in_reply_to=False, references=False, quote=True)
    [d] = decisions(run(tmp_path, "route", "--json", "-", stdin=answer))
    assert (d["action"], d["rule"], d["conversation"]) == ("threaded", "token", first["conversation"])
    shown = run(tmp_path, "show", first["conversation"]).stdout.decode()
    assert "outbound" in shown and "why:" in shown


def test_show_hides_the_carriers_of_a_stored_reply_but_the_sent_mail_keeps_them(tmp_path):
    (tmp_path / "carriers.toml").write_text(CONFIG + "[carriers]\nsubject_tag = true\n")
    cli = [sys.executable, "-m", "persona_threading", "--db", str(tmp_path / "d"),
           "--config", str(tmp_path / "carriers.toml")]
    routed = subprocess.run(cli + ["route", "--json", str(FIXTURES / "new_to_acme.eml")], capture_output=True)
    [first] = decisions(routed)
    out = tmp_path / "reply.eml"
    sent = subprocess.run(cli + ["reply", first["conversation"], "--from", "acme@help.example",
                                 "--body", "On it.", "--out", str(out)], capture_output=True)
    assert sent.returncode == 0, sent.stderr
    assert all(carrier in out.read_bytes() for carrier in (b"thread::", b"[ID-", b"pt-ticket:"))
    shown = subprocess.run(cli + ["show", first["conversation"]], capture_output=True).stdout.decode()
    as_json = subprocess.run(cli + ["show", first["conversation"], "--json"], capture_output=True).stdout.decode()
    assert "Re: A question" in shown and "| On it." in shown
    for view in (shown, as_json):
        assert "thread::" not in view and "[ID-" not in view and "pt-ticket" not in view
    assert json.loads(as_json)["messages"][-1]["text"] == "On it."


def test_sent_items_in_an_export_are_outbound(tmp_path):
    sent = b"From: support@help.example\nTo: x@y.example\nSubject: hello\nMessage-ID: <s1@help.example>\n\nhi\n"
    reply = b"From: x@y.example\nTo: support@help.example\nSubject: Re: hello\nIn-Reply-To: <s1@help.example>\nMessage-ID: <r1@y.example>\n\nok\n"
    (tmp_path / "a.eml").write_bytes(sent)
    (tmp_path / "b.eml").write_bytes(reply)
    out = decisions(run(tmp_path, "route", "--json", str(tmp_path / "a.eml"), str(tmp_path / "b.eml")))
    assert out[0]["action"] == "outbound" and out[0]["conversation"]
    assert (out[1]["action"], out[1]["conversation"]) == ("threaded", out[0]["conversation"])


def test_mbox_is_detected_by_content_and_maildir_is_read_in_order(tmp_path):
    one = (FIXTURES / "new_to_acme.eml").read_bytes()
    (tmp_path / "single.txt").write_bytes(b"From alice@x Mon Nov 16 09:00:00 2026\n" + one)
    [d] = decisions(run(tmp_path, "route", "--json", str(tmp_path / "single.txt")))
    assert d["message_id"] == "n-acme@customer.example"
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "cur" / "1700000001.a").write_bytes((FIXTURES / "original_a.eml").read_bytes())
    (maildir / "new" / "1700000002.b").write_bytes((FIXTURES / "agent_reply_a.eml").read_bytes())
    (maildir / "new" / "1700000003.c").write_bytes((FIXTURES / "in_reply_to.eml").read_bytes())
    out = decisions(run(tmp_path, "route", "--json", str(maildir)))
    assert [d["action"] for d in out] == ["queued", "outbound", "threaded"]


def test_dry_run_and_explain_store_nothing(tmp_path):
    assert decisions(run(tmp_path, "route", "--json", "--dry-run", str(FIXTURES / "new_to_acme.eml")))
    explained = run(tmp_path, "explain", str(FIXTURES / "new_to_acme.eml")).stdout.decode()
    for rule in ("token", "references", "thread_index", "prefix", "single_scope", "default_project"):
        assert rule in explained
    [again] = decisions(run(tmp_path, "route", "--json", str(FIXTURES / "new_to_acme.eml")))
    assert again["action"] == "new" and again["conversation"] == "1"
    assert run(tmp_path, "list").stdout.decode().count("\n") == 1


def test_queue_attach_and_new(tmp_path):
    [queued] = decisions(run(tmp_path, "route", "--json", str(FIXTURES / "new_to_support.eml")))
    assert queued["action"] == "queued" and queued["conversation"] is None
    assert "n-support@customer.example" in run(tmp_path, "queue").stdout.decode()
    result = run(tmp_path, "queue", "new", "n-support@customer.example", "--project", "beta")
    assert result.returncode == 0 and b"opened conversation" in result.stdout
    assert run(tmp_path, "queue").stdout == b""
    [q2] = decisions(run(tmp_path, "route", "--json", str(FIXTURES / "prefix_unknown.eml")))
    result = run(tmp_path, "queue", "attach", "<n-prefix-unknown@customer.example>", "1")
    assert result.returncode == 0, result.stderr
    assert "n-prefix-unknown@customer.example" in run(tmp_path, "show", "1").stdout.decode()


@pytest.mark.parametrize("args, config, message", [
    (("show", "999"), CONFIG, b"no conversation"),
    (("route", "/nonexistent.eml"), CONFIG, b"cannot read /nonexistent.eml"),
    (("list",), "this is = = not toml", b"not valid TOML"),
    (("list",), CONFIG.replace('projects = ["ACME"]', 'projects = ["ACME"]\ndefault_project = "BETA"'),
     b"default_project 'BETA' must be one of its projects"),
    (("queue", "attach", "nope@x", "1"), CONFIG, b"no conversation"),
    (("queue", "new", "nope@x"), CONFIG, b"no open queued message"),
    (("reply", "42", "--from", "a@b.example", "--body", "x"), CONFIG, b"no conversation"),
    (("list",), CONFIG.replace('projects = ["ACME"]', 'projects = ["ACME"]\ndefault_projet = "ACME"'),
     b"unknown key 'default_projet' in [[inbox]] #2"),
    (("list",), "carriers = 5\n" + CONFIG, b"'carriers' must be a table, not 5"),
    (("list",), CONFIG.replace('projects = ["ACME"]', "projects = 5"),
     b"[[inbox]] #2 key 'projects' must be a list of strings, not 5"),
    (("list",), CONFIG + "[policy]\nexternal_forward_requesters = 'no'\n",
     b"[policy] key 'external_forward_requesters' must be a boolean (true or false), not 'no'"),
    (("list",), CONFIG + "[carriers]\nsubject_tag = 1\n", b"[carriers] key 'subject_tag' must be a boolean"),
    (("list",), CONFIG + "active = 'yes'\n", b"[[user]] #1 key 'active' must be a boolean"),
    (("list",), CONFIG + "[policy]\nheader_threding = false\n", b"unknown key 'header_threding' in [policy]"),
    (("list",), CONFIG + "[security]\nauthserv_ids = 'mx.help.example'\n",
     b"[security] key 'authserv_ids' must be a list of strings"),
    (("list",), CONFIG.replace('prefix = "BETA"', 'prefix = "BETA"\ninbound = "no"'),
     b"[[project]] #2 key 'inbound' must be a boolean"),
])
def test_bad_input_is_one_clear_line(tmp_path, args, config, message):
    (tmp_path / "c.toml").write_text(config)
    result = subprocess.run([sys.executable, "-m", "persona_threading", "--db", str(tmp_path / "d"),
                             "--config", str(tmp_path / "c.toml"), *args], capture_output=True)
    assert result.returncode != 0
    assert message in result.stderr and b"Traceback" not in result.stderr
    assert len(result.stderr.decode().strip().splitlines()) == 1


def test_without_config_everything_opens_a_conversation(tmp_path):
    [d] = decisions(run(tmp_path, "route", "--json", str(FIXTURES / "new_to_support.eml"), config=False))
    assert d["action"] == "new"


def test_demo_runs():
    result = subprocess.run([sys.executable, "-m", "persona_threading", "demo"], capture_output=True,
                            cwd=os.path.dirname(__file__))
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    for rule in ("single_scope", "prefix", "manual_queue", "auto_reply", "duplicate", "token",
                 "ticket_tag", "in_reply_to", "thread_index", "signature invalid", "created via forward"):
        assert rule in out


def forward_to(inbox: str, message_id: str = "fw1@help.example") -> bytes:
    return (f"From: agent@help.example\nTo: {inbox}\nSubject: Fwd: printer\nMessage-ID: <{message_id}>\n\n"
            "FYI\n\n---------- Forwarded message ---------\nFrom: Colleague <colleague@help.example>\n"
            "Subject: printer\n\nbroken\n").encode()


def run_with_colleague(tmp_path, *args, stdin=None):
    """``run`` with colleague@help.example as a second internal user."""
    (tmp_path / "c.toml").write_text(CONFIG + '\n[[user]]\nemail = "colleague@help.example"\n')
    return subprocess.run([sys.executable, "-m", "persona_threading", "--db", str(tmp_path / "d"),
                           "--config", str(tmp_path / "c.toml"), *args], input=stdin, capture_output=True)


def shown(tmp_path, conversation) -> dict:
    result = run_with_colleague(tmp_path, "show", conversation, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


FORWARD_AUDIT = ["Created via forward from agent@help.example on behalf of colleague@help.example",
                 "Assigned to agent@help.example (the forwarding agent)"]


def forward_audit(info: dict) -> list[str]:
    return [row["detail"] for row in info["audit"] if row["event"] == "forward"]


def test_route_json_reports_forward_attribution(tmp_path):
    [d] = decisions(run_with_colleague(tmp_path, "route", "--json", "-", stdin=forward_to("acme@help.example")))
    assert (d["submitted_by"], d["assigned_to"]) == ("colleague@help.example", "agent@help.example")


def test_route_stores_the_forward_attribution(tmp_path):
    [d] = decisions(run_with_colleague(tmp_path, "route", "--json", "-", stdin=forward_to("acme@help.example")))
    info = shown(tmp_path, d["conversation"])
    roles = {p["email"]: p["role"] for p in info["participants"]}
    assert roles == {"colleague@help.example": "Requester", "agent@help.example": "Assignee"}
    assert forward_audit(info) == FORWARD_AUDIT
    text = run_with_colleague(tmp_path, "show", d["conversation"]).stdout.decode()
    assert "colleague@help.example (Requester)" in text
    assert "forward: Created via forward from agent@help.example on behalf of colleague@help.example" in text


def test_a_queued_forward_keeps_its_attribution_until_a_reviewer_opens_it(tmp_path):
    [d] = decisions(run_with_colleague(tmp_path, "route", "--json", "-", stdin=forward_to("support@help.example")))
    assert (d["action"], d["submitted_by"], d["assigned_to"]) == (
        "queued", "colleague@help.example", "agent@help.example")
    listed = run_with_colleague(tmp_path, "queue").stdout.decode()
    assert "on behalf of colleague@help.example" in listed
    opened = run_with_colleague(tmp_path, "queue", "new", "fw1@help.example", "--project", "ACME")
    assert opened.returncode == 0, opened.stderr
    info = shown(tmp_path, "1")
    assert [p for p in info["participants"] if p["role"] == "Requester"] == [
        {"email": "colleague@help.example", "role": "Requester", "active": 1}]
    assert {"email": "agent@help.example", "role": "Assignee", "active": 1} in info["participants"]
    assert forward_audit(info) == FORWARD_AUDIT


def test_attaching_a_queued_forward_applies_its_attribution(tmp_path):
    sent = b"From: support@help.example\nTo: colleague@help.example\nSubject: printer\nMessage-ID: <s1@help.example>\n\nhi\n"
    [started] = decisions(run_with_colleague(tmp_path, "route", "--json", "-", stdin=sent))
    decisions(run_with_colleague(tmp_path, "route", "--json", "-", stdin=forward_to("support@help.example")))
    attached = run_with_colleague(tmp_path, "queue", "attach", "fw1@help.example", started["conversation"])
    assert attached.returncode == 0, attached.stderr
    info = shown(tmp_path, started["conversation"])
    roles = {p["email"]: p["role"] for p in info["participants"]}
    assert (roles["colleague@help.example"], roles["agent@help.example"]) == ("Requester", "Assignee")
    assert forward_audit(info) == FORWARD_AUDIT


def test_a_stranger_whose_reply_threads_joins_as_a_third_party(tmp_path):
    [first] = decisions(run(tmp_path, "route", "--json", str(FIXTURES / "new_to_acme.eml")))
    stranger = (b"From: mallory@elsewhere.example\nTo: acme@help.example\nSubject: Re: A question\n"
                b"In-Reply-To: <n-acme@customer.example>\nMessage-ID: <m1@elsewhere.example>\n\nme too\n")
    [reply] = decisions(run(tmp_path, "route", "--json", "-", stdin=stranger))
    assert reply["conversation"] == first["conversation"]
    info = json.loads(run(tmp_path, "show", first["conversation"], "--json").stdout)
    roles = {p["email"]: p["role"] for p in info["participants"]}
    assert roles == {"alice@customer.example": "Requester", "mallory@elsewhere.example": "Third party"}
    assert [m["visibility"] for m in info["messages"]] == ["public", "private"]
    shown = run(tmp_path, "show", first["conversation"]).stdout.decode().splitlines()
    assert [line for line in shown if "[private: agents only]" in line] == \
        [line for line in shown if "mallory@elsewhere.example  Re: A question" in line]


def test_policy_switches_in_the_config_show_in_explain(tmp_path):
    config = CONFIG + "[policy]\nheader_threading = false\nthread_index_threading = false\n"
    (tmp_path / "c.toml").write_text(config)
    result = subprocess.run([sys.executable, "-m", "persona_threading", "--db", str(tmp_path / "d"),
                             "--config", str(tmp_path / "c.toml"), "explain", str(FIXTURES / "in_reply_to.eml")],
                            capture_output=True)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    for rule in ("in_reply_to", "references", "thread_index"):
        assert f"{rule:<16} disabled by settings" in out


def test_paused_project_takes_no_mail(tmp_path):
    """A paused scope is an ineligible one: the inbox still has scopes, so mail waits in the queue."""
    config = CONFIG.replace('projects = ["ACME"]\n', 'paused_projects = ["ACME"]\n')
    (tmp_path / "c.toml").write_text(config)
    result = subprocess.run([sys.executable, "-m", "persona_threading", "--db", str(tmp_path / "d"),
                             "--config", str(tmp_path / "c.toml"), "route", "--json",
                             str(FIXTURES / "new_to_acme.eml")], capture_output=True)
    [d] = decisions(result)
    assert (d["action"], d["conversation"]) == ("queued", None)
    assert "acme@help.example has 0 eligible project scopes" in json.dumps(d["attempts"])


def test_a_store_written_before_the_status_column_was_dropped_still_opens(tmp_path):
    import sqlite3

    old = sqlite3.connect(tmp_path / "db.sqlite3")
    old.executescript("CREATE TABLE conversations (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE,"
                      " project TEXT, subject TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open',"
                      " created_at TEXT NOT NULL);"
                      "INSERT INTO conversations (key, subject, created_at) VALUES ('ConvAAAAAAA', 'old', 'x');")
    old.commit()
    old.close()
    [d] = decisions(run(tmp_path, "route", "--json", str(FIXTURES / "new_to_acme.eml")))
    assert d["conversation"] == "2"
    listed = run(tmp_path, "list").stdout.decode()
    assert "old" in listed and "open" not in listed  # no status that nothing maintains
    assert "status" not in json.loads(run(tmp_path, "show", "1", "--json").stdout)


TRUSTED = CONFIG + '[[inbox]]\naddress = "hello@help.example"\n[security]\nauthserv_ids = ["MX.help.example"]\n'


def test_route_json_says_who_sent_it_and_what_our_servers_proved(tmp_path):
    """A forged From of an inbox inside a customer's conversation: inbound, private, and why."""
    (tmp_path / "config.toml").write_text(TRUSTED)
    [first] = decisions(_run_trusted(tmp_path, "route", "--json", str(FIXTURES / "new_to_acme.eml")))
    forged = (b"Authentication-Results: mx.help.example; dmarc=fail header.from=help.example\n"
              b"From: acme@help.example\nTo: alice@customer.example\nSubject: Re: A question\n"
              b"In-Reply-To: <n-acme@customer.example>\nMessage-ID: <f1@evil.example>\n\nyour password?\n")
    [d] = decisions(_run_trusted(tmp_path, "route", "--json", "-", stdin=forged))
    assert (d["action"], d["conversation"]) == ("threaded", first["conversation"])
    assert (d["sender_role"], d["visibility"]) == ("third_party", "private")
    assert d["authenticity"]["verdict"] == "forged" and "mx.help.example" in d["authenticity"]["evidence"]
    assert (first["sender_role"], first["visibility"]) == ("requester", "public")


def test_a_project_closed_to_inbound_mail_takes_no_prefix_from_an_unscoped_inbox(tmp_path):
    (tmp_path / "config.toml").write_text(TRUSTED.replace('prefix = "BETA"', 'prefix = "BETA"\ninbound = false'))
    raw = b"From: a@b.example\nTo: hello@help.example\nSubject: #BETA x\nMessage-ID: <p@b.example>\n\nx\n"
    [d] = decisions(_run_trusted(tmp_path, "route", "--json", "-", stdin=raw))
    assert (d["action"], d["project"]) == ("new", None)
    assert "not allowed here" in json.dumps(d["attempts"])


def test_a_store_from_before_content_digests_opens_and_takes_a_reused_message_id(tmp_path):
    import sqlite3

    old = sqlite3.connect(tmp_path / "db.sqlite3")
    old.executescript(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, message_id TEXT UNIQUE, conversation_id INTEGER,"
        " direction TEXT NOT NULL, action TEXT NOT NULL, rule TEXT NOT NULL, evidence TEXT NOT NULL,"
        " decision TEXT NOT NULL, subject TEXT NOT NULL, from_addr TEXT NOT NULL, sent_date TEXT,"
        " raw BLOB NOT NULL, stored_at TEXT NOT NULL);"
        "CREATE TABLE projects (prefix TEXT PRIMARY KEY COLLATE NOCASE, title TEXT NOT NULL DEFAULT '');"
        "INSERT INTO messages (message_id, direction, action, rule, evidence, decision, subject, from_addr,"
        " sent_date, raw, stored_at) VALUES ('n-acme@customer.example', 'inbound', 'queued', 'x', 'x', '{}',"
        " 's', 'mallory@evil.example', 'Mon, 16 Nov 2026 09:00:00 +0000', x'00', 'x');")
    old.commit()
    old.close()
    [d] = decisions(run(tmp_path, "route", "--json", str(FIXTURES / "new_to_acme.eml")))
    assert d["action"] == "new" and any("reused" in x for x in d["defects"])
    [again] = decisions(run(tmp_path, "route", "--json", str(FIXTURES / "new_to_acme.eml")))
    assert again["action"] == "duplicate"


def _run_trusted(tmp_path, *args, stdin=None):
    cmd = [sys.executable, "-m", "persona_threading", "--db", str(tmp_path / "db.sqlite3"),
           "--config", str(tmp_path / "config.toml")]
    return subprocess.run(cmd + list(args), input=stdin, capture_output=True, cwd=tmp_path)
