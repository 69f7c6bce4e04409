"""Role names: the ONE place the stores' participant roles and a decision's sender_role are
named and mapped onto each other.

Stored roles (SQLite participants.role, PT Conversation Follower.role): the Requester opened
the conversation (for an agent's forward, the original sender); a CC is a customer-side
recipient who gets public replies; a Follower is an internal user added from the form or
who replied from the conversation (notified separately, never in a customer's To/Cc); an
Assignee is the agent whose forward opened it (a follower); an Agent is an internal user who
wrote by email (a follower too); a Third party is someone whose reply threaded without
anyone inviting them (never notified, never in To/Cc).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

REQUESTER, CC, FOLLOWER, AGENT, THIRD_PARTY, ASSIGNEE = \
    "Requester", "CC", "Follower", "Agent", "Third party", "Assignee"
STORED_ROLES = (REQUESTER, CC, FOLLOWER, AGENT, THIRD_PARTY, ASSIGNEE)

# A decision's sender_role.
SENDER_REQUESTER, SENDER_CC, SENDER_FOLLOWER, SENDER_AGENT, SENDER_LIGHT_AGENT, SENDER_THIRD_PARTY = \
    "requester", "cc", "follower", "agent", "light_agent", "third_party"
PUBLIC, PRIVATE = "public", "private"

#: The one place stored roles become a decision's sender_role. A role not listed here (a
#: store's own) is someone added on purpose: a follower.
SENDER_ROLE_OF_STORED = {REQUESTER: SENDER_REQUESTER, CC: SENDER_CC, ASSIGNEE: SENDER_FOLLOWER,
                         FOLLOWER: SENDER_FOLLOWER, AGENT: SENDER_AGENT, THIRD_PARTY: SENDER_THIRD_PARTY}

#: Stored roles of internal people who get follower notifications (never customer mail): an
#: agent who wrote by email follows the conversation as one added from the form does.
NOTIFIED_FOLLOWER_ROLES = frozenset({FOLLOWER, ASSIGNEE, AGENT})


def sender_role(conversation_has_requester: bool) -> str:
    """The stored role of an inbound sender who is not a participant yet."""
    return THIRD_PARTY if conversation_has_requester else REQUESTER


def sender_role_of(stored_role: str | None) -> str:
    """A decision's sender_role for a stored participant role (None: not a participant)."""
    if stored_role is None:
        return SENDER_THIRD_PARTY
    return SENDER_ROLE_OF_STORED.get(stored_role, SENDER_FOLLOWER)


def vouches_for_weak_identifiers(stored_role: str | None) -> bool:
    """Whether a participant with this stored role may thread by a weak identifier (an
    Outlook Thread-Index): invited people, not someone who merely wrote in."""
    return sender_role_of(stored_role) != SENDER_THIRD_PARTY


@dataclass(frozen=True)
class Participant:
    """One person on a conversation as a store holds them (one row per address)."""

    email: str
    role: str
    active: bool = True


class Roster:
    """A conversation's participants by address (case-insensitive), active or not."""

    def __init__(self, participants: Iterable[Participant] = ()):
        self.people = {p.email.lower(): p for p in participants}

    def get(self, address: str) -> Participant | None:
        return self.people.get(address.lower()) if address else None

    def active_role(self, address: str) -> str | None:
        """The stored role of an ACTIVE participant (None: not one, or inactive)."""
        person = self.get(address)
        return person.role if person and person.active else None

    @property
    def requester(self) -> Participant | None:
        return next((p for p in self.people.values() if p.role == REQUESTER and p.active), None)

    @property
    def active_ccs(self) -> list[Participant]:
        return [p for p in self.people.values() if p.role == CC and p.active]

    def customers_among(self, addresses: Iterable[str]) -> list[str]:
        """The requester and active CCs among ``addresses``: who makes a reply public."""
        wanted = {p.email.lower() for p in [self.requester, *self.active_ccs] if p}
        return [a for a in dict.fromkeys(a.lower() for a in addresses) if a in wanted]
