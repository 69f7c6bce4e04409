"""Participants (issue 11): who joins, who is dropped and comes back, who may add CCs, which
replies stay internal. Each test replays real mails of one conversation (tests/fixtures/
participants/): Alice opens it with Bob and Carol in Cc; Ann is an agent, Gus another
agent, Lina a light agent, Mona a follower added from the form."""

import pytest
from conftest import fixture_bytes

from persona_threading.engine.decision import Decision
from persona_threading.engine.message import parse_message
from persona_threading.engine.participants import (ASSIGNEE, CC, FOLLOWER, REQUESTER, THIRD_PARTY, Participant,
                                                   blocking_pattern, follower_notifications, public_history,
                                                   reply_recipients, wildcard_match)
from persona_threading.engine.policy import RoutingPolicy
from persona_threading.engine.router import route
from persona_threading.store.sqlite import InboxConfig, ProjectConfig, SqliteStore, UserConfig

BLOCKLIST = ("*@competitor.example", "noreply@*")
ALICE, BOB, CAROL = "alice@customer.example", "bob@customer.example", "carol@partner.example"


class Desk:
    """A helpdesk with one inbox; ``deliver`` routes and stores a fixture as a fetch would."""

    def __init__(self):
        self.store = SqliteStore(":memory:")
        self.store.apply_config([ProjectConfig("ACME")], [InboxConfig("support@help.example", ("ACME",))],
                                [UserConfig("agent@help.example"), UserConfig("gus@help.example"),
                                 UserConfig("lina@help.example", light_agent=True)], BLOCKLIST)
        self.policy = RoutingPolicy(cc_blocklist=BLOCKLIST)
        self.conversation = self.deliver("opened_with_ccs").conversation

    def deliver(self, name_or_raw) -> Decision:
        raw = fixture_bytes(f"participants/{name_or_raw}.eml") if isinstance(name_or_raw, str) else name_or_raw
        message = parse_message(raw)
        return self.store.record(message, route(message, self.store, self.store.keyring(), policy=self.policy))

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
