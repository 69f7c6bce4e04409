"""Who gets which mail of a conversation: customers get public replies, followers get
separate notifications, and a newly added CC gets the public history once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence, TypeVar

from .directory import blocking_pattern
from .roles import NOTIFIED_FOLLOWER_ROLES, PUBLIC, Participant, Roster

M = TypeVar("M", bound=Mapping)


@dataclass(frozen=True)
class ReplyRecipients:
    to: list[str]
    cc: list[str]


def reply_recipients(participants: Iterable[Participant], cc_blocklist: Sequence[str] = ()) -> ReplyRecipients:
    """A public reply sent from the conversation: the requester in To, the active CCs in Cc.
    Followers, agents and third parties are never in a customer's headers; a CC that
    matches the blocklist (added before the pattern was) is left out too."""
    roster = Roster(participants)
    requester = roster.requester
    to = [requester.email.lower()] if requester else []
    cc = [p.email.lower() for p in roster.active_ccs
          if p.email.lower() not in to and blocking_pattern(p.email, cc_blocklist) is None]
    return ReplyRecipients(to, cc)


def follower_notifications(participants: Iterable[Participant], author: str | None) -> list[str]:
    """Who gets a follower notification of a message (a public reply or an internal note):
    the active Followers and the Assignee, never the message's own author."""
    author = (author or "").lower()
    return [p.email.lower() for p in Roster(participants).people.values()
            if p.active and p.role in NOTIFIED_FOLLOWER_ROLES and p.email.lower() != author]


def public_history(messages: Iterable[M], until_message_id: str | None = None) -> list[M]:
    """The public messages, in the given (conversation) order, for a newly added CC's
    history mail. Each message is a mapping with ``visibility`` (public/private, any case:
    Frappe's Public/Private too); a message without one is private (never leak by default).
    ``until_message_id`` stops before that message (the one that added the CC: they have it)."""
    shown = []
    for message in messages:
        if until_message_id is not None and message.get("message_id") == until_message_id:
            break
        if str(message.get("visibility") or "").lower() == PUBLIC:
            shown.append(message)
    return shown
