"""Who gets which mail of a conversation: customers get public replies, followers get
separate notifications, and a newly added CC gets the public history once.

Each person gets each message once: whoever the mail itself reached (its From, To and Cc)
gets no copy of it from us. The requester and the active CCs get every public message,
whoever wrote it (Zendesk: "CCs receive notifications … whenever a public comment is added"):
a CC's reply that left the requester off is relayed to them (``relay_recipients``)."""

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


def follower_notifications(participants: Iterable[Participant], author: str | None,
                           on_mail: Iterable[str] = ()) -> list[str]:
    """Who gets a follower notification of a message (a public reply or an internal note):
    the active Followers, Agents (internal users who wrote by email) and the Assignee, never
    the message's own author nor anyone the mail itself reached (``on_mail``: its From, To, Cc)."""
    skip = {(author or "").lower(), *(a.lower() for a in on_mail)}
    return [p.email.lower() for p in Roster(participants).people.values()
            if p.active and p.role in NOTIFIED_FOLLOWER_ROLES and p.email.lower() not in skip]


def relay_recipients(participants: Iterable[Participant], author: str | None, on_mail: Iterable[str] = (),
                     cc_blocklist: Sequence[str] = ()) -> list[str]:
    """Who gets a public message relayed by the helpdesk: the requester and the active CCs
    (as the participants are after the message) whom the mail did not reach itself, never
    its author; a CC on the blocklist neither."""
    skip = {(author or "").lower(), *(a.lower() for a in on_mail)}
    found = reply_recipients(participants, cc_blocklist)
    return [a for a in found.to + found.cc if a not in skip]


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
