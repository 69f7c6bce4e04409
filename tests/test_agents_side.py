"""The agents' side of a conversation (issue 20): only a customer's public reply changes a
status; an agent's response defines the CCs; everyone on it gets each public message once;
agents who reply follow; the flood guard counts customers, never internal users."""

from dataclasses import replace
from datetime import timedelta

import pytest
from conftest import fixture_bytes
from test_limits import NOW, app, new_mail
from test_participants import ALICE, BOB, CAROL, MONA, Desk, changes

from persona_threading.engine.lifecycle import RESUME_NOTE, on_inbound_reply
from persona_threading.engine.participants import (AGENT, CC, FOLLOWER, REQUESTER, THIRD_PARTY, Participant, Roster,
                                                   follower_notifications, relay_recipients, responder_follows)

# -- statuses: only the requester's or an active CC's public reply --------------------------


@pytest.mark.parametrize("role,visibility", [("agent", "private"), ("agent", "public"), ("follower", "private"),
                                             ("light_agent", "private"), ("third_party", "private")])
def test_notes_responses_and_strangers_change_no_status_and_say_why(role, visibility):
    for status in ("Replied", "Resolved", "Closed"):
        t = on_inbound_reply(status, "It is broken again.", False, 1, sender_role=role, visibility=visibility)
        assert (t.action, t.status, t.event) == ("none", None, None)
        assert t.note.startswith(f"status left {status}: the {role.replace('_', ' ')}'s {visibility} mail")
        assert "only a public reply of the requester or an active CC" in t.note


@pytest.mark.parametrize("role", ["requester", "cc"])
def test_the_requesters_and_an_active_ccs_public_reply_resume_and_reopen(role):
    t = on_inbound_reply("Replied", "Here are the logs.", False, 1, sender_role=role, visibility="public")
    assert (t.action, t.status, t.note) == ("resume", "Open", RESUME_NOTE)
    assert on_inbound_reply("Resolved", "Broken again", False, 1, sender_role=role, visibility="public").action \
        == "reopen"
    assert on_inbound_reply("Closed", "Broken again", False, 1, sender_role=role, visibility="public").action \
        == "new_linked"


def test_a_note_on_an_open_ticket_leaves_no_audit_note():
    assert on_inbound_reply("Open", "FYI", False, 1, sender_role="agent", visibility="private").note == ""


def test_a_thank_you_while_awaiting_input_resumes_the_ticket():
    """Gratitude keeps a *resolved* ticket resolved; awaiting input, any reply is input."""
    t = on_inbound_reply("Replied", "Thanks a lot!", False, 1, sender_role="requester", visibility="public")
    assert (t.action, t.status) == ("resume", "Open")


# -- the flood guard -------------------------------------------------------------------------


def forward_of(inner: str, number: int) -> bytes:
    body = (f"FYI\n\n---------- Forwarded message ---------\nFrom: Someone <{inner}>\nSubject: Order {number}\n"
            f"To: agent@help.example\n\nWhere is my order {number}?\n")
    return (f"From: agent@help.example\nTo: acme@help.example\nSubject: Fwd: Order {number}\n"
            f"Message-ID: <fw{number}-{abs(hash(inner)) % 10**6}@help.example>\n"
            f"Date: {NOW.strftime('%a, %d %b %Y %H:%M:%S +0000')}\n\n{body}").encode()


def test_an_agent_forwarding_many_customers_mail_is_never_flood_guarded():
    a = app()
    results = [a.handle(forward_of(f"c{n}@customer.example", n), NOW + timedelta(seconds=n)) for n in range(15)]
    assert [d.action for d, _ in results] == ["new"] * 15


def test_internal_users_writing_in_are_never_counted():
    a = app()
    results = [a.handle(new_mail("agent@help.example", f"Internal task {n}", n), NOW) for n in range(15)]
    assert all(d.action == "new" for d, _ in results)


def test_the_original_sender_of_forwards_is_counted():
    a = app()
    a.config.policy = replace(a.config.policy, external_forward_requesters=True)
    results = [a.handle(forward_of("flooder@customer.example", n), NOW + timedelta(seconds=n)) for n in range(12)]
    actions = [d.action for d, _ in results]
    assert actions.count("new") == 10 and actions[10:] == ["queued", "queued"]
    assert results[10][0].evidence.startswith("flood guard: flooder@customer.example opened 10 conversations")


# -- the agent's response defines the CCs ---------------------------------------------------


@pytest.fixture
def desk():
    d = Desk()
    yield d
    d.store.close()


def agent_answers(desk, to: str, cc: str, note: bool = False) -> object:
    raw = fixture_bytes("participants/agent_reply_all.eml")
    head, body = raw.split(b"\n\n", 1)
    lines = [line for line in head.split(b"\n") if not line.startswith((b"To:", b"Cc:", b"Message-ID:"))]
    lines += [f"To: {to}".encode(), f"Message-ID: <answer-{abs(hash((to, cc))) % 10**6}@help.example>".encode()]
    if cc:
        lines.append(f"Cc: {cc}".encode())
    return desk.deliver(b"\n".join(lines) + b"\n\n" + body)


def test_a_cc_the_agent_leaves_off_a_response_becomes_inactive_with_the_reason(desk):
    d = agent_answers(desk, ALICE, f"{BOB}, support@help.example")
    assert (d.sender_role, d.visibility) == ("agent", "public")
    assert changes(d)[CAROL] == ("deactivate", CC)
    assert desk.people()[CAROL] == (CC, False) and desk.people()[BOB] == (CC, True)
    assert any(line.startswith(f"{CAROL} removed as CC: the agent's response <answer-") and "left them off" in line
               for line in desk.audit())


def test_an_agents_note_or_mail_to_someone_else_removes_nobody(desk):
    agent_answers(desk, "support@help.example", "")  # an internal note
    agent_answers(desk, "vendor@parts.example", "support@help.example")  # not to the customer side
    assert (desk.people()[BOB], desk.people()[CAROL]) == ((CC, True), (CC, True))


def test_a_response_from_the_conversation_removes_the_cc_it_leaves_off(desk):
    """The same rule for mail sent from the conversation (``reply``), the Frappe composer's path."""
    from persona_threading.engine import decision as act
    from persona_threading.engine.decision import Decision
    from persona_threading.engine.message import parse_message

    sent = parse_message(f"From: support@help.example\nTo: {ALICE}\nCc: {BOB}\nSubject: Re: battery\n"
                         "Message-ID: <sent-1@help.example>\n\nA new battery is on its way.\n".encode())
    desk.store.record(sent, Decision(sent.message_id, act.OUTBOUND, "outbound", "sent", conversation=desk.conversation))
    assert desk.people()[CAROL] == (CC, False)


def test_ccs_by_email_switched_off_adds_nobody_by_mail(desk):
    desk.policy = replace(desk.policy, ccs_by_email=False)
    d = desk.deliver("cc_adds_colleague")
    assert "zoe@customer.example" not in desk.people()
    assert any(c["email"] == "zoe@customer.example" and "CCs by email are switched off" in c["reason"]
               for c in d.participants["changes"])


# -- who gets what, once --------------------------------------------------------------------

PEOPLE = [Participant(ALICE, REQUESTER), Participant(BOB, CC), Participant(CAROL, CC, active=False),
          Participant("dave@elsewhere.example", THIRD_PARTY), Participant("agent@help.example", AGENT),
          Participant(MONA, FOLLOWER)]


def test_a_ccs_public_reply_is_relayed_to_the_requester_and_other_ccs_never_its_author():
    assert relay_recipients(PEOPLE, BOB, on_mail=[BOB, "support@help.example"]) == [ALICE]
    many = PEOPLE + [Participant("zoe@customer.example", CC)]
    assert relay_recipients(many, BOB, on_mail=[BOB, "zoe@customer.example"]) == [ALICE]
    assert relay_recipients(many, BOB, on_mail=[BOB]) == [ALICE, "zoe@customer.example"]
    assert relay_recipients(many, ALICE, on_mail=[ALICE, BOB, "zoe@customer.example"]) == []
    assert relay_recipients(many, BOB, [BOB], cc_blocklist=("zoe@*",)) == [ALICE]


def test_followers_and_agents_are_notified_once_never_when_the_mail_reached_them():
    assert follower_notifications(PEOPLE, BOB) == ["agent@help.example", MONA]
    assert follower_notifications(PEOPLE, "agent@help.example") == [MONA]
    assert follower_notifications(PEOPLE, BOB, on_mail=[BOB, MONA.upper()]) == ["agent@help.example"]


def test_an_agent_who_replies_from_the_conversation_follows_it_once():
    roster = Roster(PEOPLE)
    change = responder_follows(roster, "Gus@help.example", internal=True)
    assert (change.email, change.change, change.role) == ("gus@help.example", "join", FOLLOWER)
    assert responder_follows(roster, "agent@help.example", internal=True) is None  # already follows (Agent)
    assert responder_follows(roster, "Administrator", internal=False) is None
    unfollowed = Roster([Participant(MONA, FOLLOWER, active=False)])
    assert responder_follows(unfollowed, MONA, internal=True) is None  # comes back from the form only


def test_a_reply_written_from_the_conversation_names_no_private_message(desk):
    desk.deliver("third_party_reply")
    desk.deliver("agent_reply_to_helpdesk")  # an internal note
    private = [m["message_id"] for m in desk.store.conversation(desk.conversation)["messages"]
               if m["visibility"] == "private"]
    assert len(private) == 2
    state = desk.store.thread_state(desk.conversation)
    assert state["in_reply_to"] == "cc-open@customer.example"
    assert not set(private) & set(state["references"])
