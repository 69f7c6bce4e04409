"""One contract for every Lookup implementation (SQLite store, Frappe adapter).

``check_lookup_contract(seeder, lookup)`` seeds data through ``seeder`` and asserts what the
engine relies on. Both test suites call it, so the two stores cannot drift apart.
``check_count_contract`` does the same for the counts engine.limits asks (issue 10); the
Frappe suite calls it once its seeder implements ``CountSeeder``. ``check_trust_contract``
covers what issue 9 added (participant_role, Project.accepts_inbound, the StoredMessage
digest/sender/sent_date, a Message-ID stored twice); it needs a ``TrustSeeder``.
``check_participants_contract`` covers what issue 11 added (participants, is_agent, is_light_agent);
it needs a ``ParticipantSeeder``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Seeder(Protocol):
    def conversation(self, key: str) -> str: ...
    def message(self, message_id: str, conversation: str | None) -> None: ...
    def thread_root(self, root: str, conversation: str) -> None: ...
    def project(self, prefix: str) -> str: ...
    def inbox(self, address: str, scopes: list[tuple[str, bool]], default_project: str | None) -> None: ...
    def user(self, email: str, active: bool) -> None: ...  # create, or update when it exists


class CountSeeder(Protocol):
    """Seeds what the loop and flood counts count (engine.limits)."""

    def opened_conversation(self, sender: str, at: datetime) -> str: ...  # opened by sender's mail at ``at``
    def automatic_mail(self, recipient: str, conversation: str, at: datetime) -> None: ...  # sent at ``at``


class TrustSeeder(Protocol):
    """Seeds what the issue-9 questions ask about."""

    def conversation(self, key: str) -> str: ...
    def participant(self, conversation: str, email: str, role: str, active: bool = True) -> None: ...
    def project(self, prefix: str, accepts_inbound: bool = True) -> str: ...
    def stored_mail(self, raw: bytes, conversation: str | None) -> None: ...  # store it as routing would


class ParticipantSeeder(Protocol):
    """Seeds what the issue-11 questions ask about."""

    def conversation(self, key: str) -> str: ...
    def participant(self, conversation: str, email: str, role: str, active: bool = True) -> None: ...
    def user(self, email: str, active: bool) -> None: ...  # an agent: create, or update when it exists
    def light_agent(self, email: str) -> None: ...  # an active internal user who is a light agent (also
    # when they have the agent role too)


def check_participants_contract(seed: ParticipantSeeder, lookup) -> None:
    """participants: every participant of a conversation, active or not, with the stored role,
    in the order they joined, and nobody of another conversation. is_light_agent: only an
    active light agent (case-insensitive); an agent is not one, a stranger neither."""
    from .engine.participants import CC, FOLLOWER, REQUESTER, THIRD_PARTY, Participant

    tag = uuid.uuid4().hex[:8]
    first = seed.conversation(("R" + tag + "XX")[:11])
    second = seed.conversation(("S" + tag + "YY")[:11])
    alice, bob, carol = (f"{n}-{tag}@customer.example" for n in ("alice", "bob", "carol"))
    seed.participant(first, alice, REQUESTER)
    seed.participant(first, bob, CC, active=False)
    seed.participant(first, carol, THIRD_PARTY)
    seed.participant(second, bob, FOLLOWER)
    assert list(lookup.participants(first)) == [Participant(alice, REQUESTER, True), Participant(bob, CC, False),
                                                Participant(carol, THIRD_PARTY, True)]
    assert list(lookup.participants(second)) == [Participant(bob, FOLLOWER, True)]

    seed.user("contract-agent@help.example", True)
    seed.light_agent("contract-light@help.example")
    assert lookup.is_light_agent("Contract-Light@help.example")
    assert not lookup.is_light_agent("contract-agent@help.example")
    assert not lookup.is_light_agent(f"stranger-{tag}@help.example")
    assert lookup.is_agent("Contract-Agent@help.example")
    assert not lookup.is_agent(f"stranger-{tag}@help.example")
    seed.user("contract-gone@help.example", False)
    assert not lookup.is_agent("contract-gone@help.example")


def check_trust_contract(seed: TrustSeeder, lookup) -> None:
    """participant_role: the stored role of an ACTIVE participant, by (conversation, address),
    case-insensitive, else None. Project.accepts_inbound as configured. A stored message
    answers its content digest (engine.message.content_digest of the raw mail as received),
    its sender (From address) and its Date header as written; two different mails with one
    Message-ID are both stored and both answered, newest first."""
    from .engine.message import content_digest, parse_message
    from .engine.participants import CC, REQUESTER, THIRD_PARTY

    tag = uuid.uuid4().hex[:8]
    first = seed.conversation(("P" + tag + "XX")[:11])
    second = seed.conversation(("Q" + tag + "YY")[:11])
    alice, bob, gone = f"alice-{tag}@customer.example", f"bob-{tag}@customer.example", f"gone-{tag}@x.example"
    seed.participant(first, alice, REQUESTER)
    seed.participant(first, bob, THIRD_PARTY)
    seed.participant(first, gone, CC, active=False)
    seed.participant(second, bob, CC)
    assert lookup.participant_role(first, alice.upper()) == REQUESTER, "case-insensitive"
    assert lookup.participant_role(first, bob) == THIRD_PARTY
    assert lookup.participant_role(second, bob) == CC, "per conversation"
    assert lookup.participant_role(second, alice) is None
    assert lookup.participant_role(first, gone) is None, "only active participants"

    closed = seed.project("Pn" + tag, accepts_inbound=False)
    open_ = seed.project("Py" + tag)
    assert lookup.project_by_prefix("Pn" + tag).accepts_inbound is False
    assert lookup.project_by_prefix("Py" + tag).accepts_inbound is True
    assert (lookup.project_by_prefix("Pn" + tag).name, lookup.project_by_prefix("Py" + tag).name) == (closed, open_)

    mid = f"reused-{tag}@customer.example"
    early = (f"From: Mallory <mallory-{tag}@evil.example>\r\nDate: Mon, 16 Nov 2026 09:00:00 +0000\r\n"
             f"Message-ID: <{mid}>\r\nSubject: first\r\n\r\nsquatting\r\n").encode()
    late = (f"From: {alice}\nDate: Tue, 17 Nov 2026 10:00:00 +0000\nMessage-ID: <{mid}>\n"
            "Subject: real\n\nthe real mail\n").encode()
    seed.stored_mail(early, None)
    seed.stored_mail(late, first)
    newest, oldest = lookup.messages_by_ids([mid])
    assert (newest.conversation, oldest.conversation) == (first, None), "both stored, newest first"
    assert newest.digest == content_digest(late) == parse_message(late).content_digest
    assert oldest.digest == content_digest(early.replace(b"\r\n", b"\n")), "line endings do not count"
    assert (newest.sender, newest.sent_date) == (alice, "Tue, 17 Nov 2026 10:00:00 +0000")
    assert oldest.sender == f"mallory-{tag}@evil.example"


def check_count_contract(seed: CountSeeder, lookup) -> None:
    """The counts behind the flood guard and the auto-reply windows: by sender/recipient
    (case-insensitive) or conversation, counting only what happened at or after ``since``."""
    tag = uuid.uuid4().hex[:8]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    sender, other = f"flood-{tag}@customer.example", f"calm-{tag}@customer.example"
    old = seed.opened_conversation(sender, now - timedelta(hours=2))
    recent = [seed.opened_conversation(sender, now - timedelta(minutes=m)) for m in (1, 3, 5)]
    seed.opened_conversation(other, now - timedelta(minutes=1))
    assert lookup.conversations_opened_by(sender.upper(), now - timedelta(minutes=10)) == 3
    assert lookup.conversations_opened_by(sender, now - timedelta(hours=3)) == 4
    assert lookup.conversations_opened_by(f"nobody-{tag}@customer.example", now - timedelta(hours=3)) == 0

    seed.automatic_mail(sender, old, now - timedelta(hours=2))
    seed.automatic_mail(sender, recent[0], now - timedelta(minutes=30))
    seed.automatic_mail(other, recent[0], now - timedelta(minutes=5))
    assert lookup.automatic_mails_to(sender.upper(), now - timedelta(hours=1)) == 1
    assert lookup.automatic_mails_to(sender, now - timedelta(hours=3)) == 2
    assert lookup.automatic_mails_in(recent[0], now - timedelta(days=1)) == 2
    assert lookup.automatic_mails_in(old, now - timedelta(hours=1)) == 0
    assert lookup.automatic_mails_in(recent[1], now - timedelta(days=1)) == 0


def check_lookup_contract(seed: Seeder, lookup) -> None:
    tag = uuid.uuid4().hex[:8]
    key = ("K" + tag + "XX")[:11]
    first = seed.conversation(key)
    second = seed.conversation(("L" + tag + "YY")[:11])
    assert lookup.conversation_by_key(key) == first
    assert lookup.conversation_by_key("Zz" + tag + "q") is None

    older, newer, queued = f"old-{tag}@x", f"new-{tag}@x", f"q-{tag}@x"
    seed.message(older, first)
    seed.message(newer, second)
    seed.message(queued, None)
    found = lookup.messages_by_ids([older, newer, f"none-{tag}@x"])
    assert [m.message_id for m in found] == [newer, older], "newest stored first"
    assert [m.conversation for m in found] == [second, first]
    assert lookup.messages_by_ids([queued])[0].conversation is None
    assert lookup.messages_by_ids([]) == []

    root = uuid.uuid4().hex + uuid.uuid4().hex[:12]
    seed.thread_root(root, first)
    assert lookup.conversation_by_thread_root(root) == first
    assert lookup.conversation_by_thread_root("0" * 44) is None

    prefix = "Pc" + tag
    project = seed.project(prefix)
    assert lookup.project_by_prefix(prefix.upper()).name == project, "prefix is case-insensitive"
    assert lookup.project_by_prefix("Nope" + tag) is None

    other = seed.project("Po" + tag)
    address = f"inbox-{tag}@help.example"
    seed.inbox(address, [(project, True), (other, False)], project)
    inbox = lookup.inbox(address.upper())
    assert inbox.scopes == (project,) and inbox.has_scopes and inbox.default_project == project
    plain = f"plain-{tag}@help.example"
    seed.inbox(plain, [], None)
    assert lookup.inbox(plain).scopes == () and not lookup.inbox(plain).has_scopes
    assert lookup.inbox(f"unknown-{tag}@help.example") is None

    # Fixed addresses, seeded as create-or-update: stores may throttle creating users.
    seed.user("contract-agent@help.example", True)
    seed.user("contract-gone@help.example", False)
    assert lookup.is_active_user("contract-agent@help.example")
    assert not lookup.is_active_user("contract-gone@help.example")
    assert not lookup.is_active_user(f"stranger-{tag}@help.example")
