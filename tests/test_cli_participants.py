"""Participants on the command line (issue 11): route --json says what each mail does to
the conversation's people, show lists them with their state, the config holds the CC
blocklist and the light agents."""

import json
import subprocess
import sys

from conftest import FIXTURES

CONFIG = """
secret = "cli-secret"
[[project]]
prefix = "ACME"
[[inbox]]
address = "support@help.example"
projects = ["ACME"]
[[user]]
email = "agent@help.example"
[[user]]
email = "lina@help.example"
light_agent = true
[participants]
cc_blocklist = ["*@competitor.example", "noreply@*"]
"""
MAILS = FIXTURES / "participants"


def run(tmp_path, *args, stdin=None, config=CONFIG):
    (tmp_path / "config.toml").write_text(config)
    return subprocess.run([sys.executable, "-m", "persona_threading", "--db", str(tmp_path / "db.sqlite3"),
                           "--config", str(tmp_path / "config.toml"), *args], input=stdin, capture_output=True)


def routed(tmp_path, *names):
    result = run(tmp_path, "route", "--json", *(str(MAILS / f"{n}.eml") for n in names))
    assert result.returncode == 0, result.stderr.decode()
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def test_route_json_shows_the_participant_changes_and_the_warning(tmp_path):
    opened, plain, dave = routed(tmp_path, "opened_with_ccs", "requester_plain_reply", "third_party_reply")
    assert [c["change"] for c in opened["participants"]["changes"]] == ["join", "join", "join"]
    assert opened["warning"] is None
    removed = {c["email"]: c["change"] for c in plain["participants"]["changes"]}
    assert removed == {"bob@customer.example": "deactivate", "carol@partner.example": "deactivate"}
    assert (dave["sender_role"], dave["visibility"]) == ("third_party", "private")
    assert dave["warning"] == "reply from a third party: Dave Outsider <dave@elsewhere.example>"


def test_show_lists_participants_with_their_state_and_the_warning(tmp_path):
    opened, _, _ = routed(tmp_path, "opened_with_ccs", "requester_plain_reply", "third_party_reply")
    text = run(tmp_path, "show", opened["conversation"]).stdout.decode()
    assert ("Participants: alice@customer.example (Requester), bob@customer.example (CC, inactive),"
            " carol@partner.example (CC, inactive), dave@elsewhere.example (Third party)") in text
    assert "warning: reply from a third party: Dave Outsider <dave@elsewhere.example>" in text
    assert "participant: bob@customer.example removed as CC" in text
    info = json.loads(run(tmp_path, "show", opened["conversation"], "--json").stdout)
    assert {"email": "bob@customer.example", "role": "CC", "active": False} in info["participants"]


def test_a_light_agent_from_the_config_adds_no_cc(tmp_path):
    opened, lina = routed(tmp_path, "opened_with_ccs", "light_agent_reply_all")
    assert (lina["sender_role"], lina["visibility"]) == ("light_agent", "private")
    people = json.loads(run(tmp_path, "show", opened["conversation"], "--json").stdout)["participants"]
    assert "eve@customer.example" not in {p["email"] for p in people}


def test_a_reply_goes_to_the_requester_and_active_ccs_and_the_blocklist_holds_for_it(tmp_path):
    opened, _, _ = routed(tmp_path, "opened_with_ccs", "requester_plain_reply", "requester_brings_bob_back")
    out = tmp_path / "reply.eml"
    assert run(tmp_path, "reply", opened["conversation"], "--from", "support@help.example", "--body", "ok",
               "--out", str(out)).returncode == 0
    headers = out.read_bytes().split(b"\n\n")[0].decode()
    assert "To: alice@customer.example" in headers and "Cc: bob@customer.example" in headers
    assert "carol" not in headers
    assert run(tmp_path, "reply", opened["conversation"], "--from", "support@help.example", "--body", "ok",
               "--cc", "spy@competitor.example", "--out", str(out)).returncode == 0
    info = json.loads(run(tmp_path, "show", opened["conversation"], "--json").stdout)
    assert "spy@competitor.example" not in {p["email"] for p in info["participants"]}
    assert any("on the CC blocklist (*@competitor.example)" in row["detail"] for row in info["audit"])


def test_participant_config_keys_have_types(tmp_path):
    bad_list = run(tmp_path, "list", config=CONFIG.replace('["*@competitor.example", "noreply@*"]', '"x@y"'))
    assert bad_list.returncode == 2 and b"'cc_blocklist' must be a list of strings" in bad_list.stderr
    bad_flag = run(tmp_path, "list", config=CONFIG.replace("light_agent = true", 'light_agent = "yes"'))
    assert bad_flag.returncode == 2 and b"'light_agent' must be a boolean" in bad_flag.stderr
