"""Who a conversation's people are to it: the role names both stores record, and what a
sender's role makes of their mail.

A sender joins once. Whoever opens a conversation is its Requester (for an agent's
forward, the original sender; the forwarding agent is the Assignee). Someone whose reply
threads onto a conversation that already has a requester is a Third party: the role says
they joined by writing in, not that anyone invited them to follow.

A decision's ``sender_role`` (requester, cc, follower, agent, third_party) says what the
sender is to the conversation the mail lands in, and ``visibility`` whether the mail is
shown to the conversation's people (``public``) or to agents only (``private``): a third
party's reply is private. Agent status needs an unforged From (engine.authenticity); a
shown-forged From has no standing at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import decision as act
from .authenticity import Authenticity
from .lookup import Lookup

# Roles as the stores record them (SQLite participants.role, PT Conversation Follower.role).
REQUESTER, CC, THIRD_PARTY, ASSIGNEE, FOLLOWER = "Requester", "CC", "Third party", "Assignee", "Follower"

# A decision's sender_role.
SENDER_REQUESTER, SENDER_CC, SENDER_FOLLOWER, SENDER_AGENT, SENDER_THIRD_PARTY = \
    "requester", "cc", "follower", "agent", "third_party"
PUBLIC, PRIVATE = "public", "private"

#: The one place stored roles become a decision's sender_role. A role not listed here (a
#: store's own, e.g. Follower) is someone added on purpose: a follower.
SENDER_ROLE_OF_STORED = {REQUESTER: SENDER_REQUESTER, CC: SENDER_CC, ASSIGNEE: SENDER_FOLLOWER,
                         FOLLOWER: SENDER_FOLLOWER, THIRD_PARTY: SENDER_THIRD_PARTY}


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
    return sender_role_of(stored_role) not in (SENDER_THIRD_PARTY,)


@dataclass(frozen=True)
class Standing:
    """What the sender is to the conversation the mail lands in, and who may read the mail."""

    role: str
    visibility: str
    evidence: str


def sender_standing(decision, sender: str, lookup: Lookup, authenticity: Authenticity) -> Standing | None:
    """The standing of ``sender`` (the From header's address only) for a routed mail; None
    for a duplicate, which stores nothing."""
    if decision.action == act.DUPLICATE:
        return None
    if authenticity.forged:
        return Standing(SENDER_THIRD_PARTY, PRIVATE, f"From {sender or '(none)'} is shown forged: no standing")
    if not sender:
        return Standing(SENDER_THIRD_PARTY, PRIVATE, "no single From address: no standing")
    if decision.action == act.OUTBOUND:
        return Standing(SENDER_AGENT, PUBLIC, f"sent from inbox {sender}")
    if lookup.is_active_user(sender):
        return Standing(SENDER_AGENT, PUBLIC, f"{sender} is an active internal user")
    if decision.action in (act.NEW, act.QUEUED):
        return Standing(SENDER_REQUESTER, PUBLIC, f"{sender} opens the conversation")
    if decision.conversation is None:
        return Standing(SENDER_THIRD_PARTY, PRIVATE, "threads nowhere")
    stored = lookup.participant_role(decision.conversation, sender)
    role = sender_role_of(stored)
    if role == SENDER_THIRD_PARTY:
        why = "is not a participant" if stored is None else f"joined as a {THIRD_PARTY} (wrote in uninvited)"
        return Standing(role, PRIVATE, f"{sender} {why} of conversation {decision.conversation}: "
                                       "a third party's reply is private")
    return Standing(role, PUBLIC, f"{sender} is the {stored} of conversation {decision.conversation}")
