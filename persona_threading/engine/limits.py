"""Loop and flood protection: when an automatic reply may go out, and when a sender floods.

Pure functions over counts a Lookup answers (``conversations_opened_by``,
``automatic_mails_to``, ``automatic_mails_in``). They ignore every header a peer controls,
so an autoresponder that strips all headers and rewrites the subject still gets at most
one automatic mail per window, and the loop ends after its first round (Lime CRM's case).

Order: ``apply_flood_guard`` before the store records the mail (it may turn "new" into
"queued"); ``should_auto_reply`` after (the conversation the mail opened is then known, and
counts include it). Every "no" carries a reason for the audit row.
"""

from __future__ import annotations

import email.utils
import fnmatch
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from . import decision as act
from .decision import Decision
from .lookup import Lookup
from .message import InboundMessage
from .phrases import Phrase

#: Shell-style, case-insensitive, matched against the local part or the whole address.
NEVER_ANSWER = ("noreply*", "no-reply*", "donotreply*", "do-not-reply*", "mailer-daemon", "postmaster",
                "bounce*")
DAY = timedelta(days=1)


@dataclass(frozen=True)
class AutoReplyPolicy:
    """An inbox's automatic-reply settings (Email Account fields in Frappe, [auto_reply] in the CLI)."""

    enabled: bool = True
    window_minutes: int = 60  # at most one automatic mail per recipient address per window
    per_conversation_per_day: int = 5  # at most this many automatic mails per conversation a day
    max_age_hours: float = 0  # older mail (by Date, else fetch time) gets none; 0 = no limit
    never_answer: tuple[str, ...] = NEVER_ANSWER


@dataclass(frozen=True)
class FloodGuard:
    """A sender who opened ``conversations`` in ``minutes`` opens no more (0 switches it off)."""

    conversations: int = 10
    minutes: int = 10


class AutoReplyVerdict(NamedTuple):
    """Whether to send the automatic reply, and why (for the audit row)."""

    send: bool
    reason: str

    def as_dict(self) -> dict:
        return {"send": self.send, "reason": self.reason}


def parse_date(date_header: str | None) -> datetime | None:
    """A Date header as an aware time (UTC when it names no zone); None when missing or unreadable."""
    try:
        written = email.utils.parsedate_to_datetime(date_header) if date_header else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if written is not None and written.tzinfo is None:
        written = written.replace(tzinfo=timezone.utc)
    return written


def mail_time(date_header: str | None, fetched_at: datetime) -> datetime:
    """When the mail was written: its Date, or the fetch time when Date is missing, unreadable
    or in the future (a wrong clock must not make old mail look new)."""
    written = parse_date(date_header)
    return fetched_at if written is None else min(written, fetched_at)


def never_answer_match(address: str, patterns: tuple[str, ...] = NEVER_ANSWER) -> str | None:
    """The never-answer pattern the address (or its local part) matches, else None."""
    address = address.strip().lower()
    local = address.rpartition("@")[0] or address
    for pattern in patterns:
        pattern = pattern.strip().lower()
        if pattern and (fnmatch.fnmatchcase(local, pattern) or fnmatch.fnmatchcase(address, pattern)):
            return pattern
    return None


def flood_reason(sender: str, lookup: Lookup, now: datetime, guard: FloodGuard = FloodGuard()) -> str | None:
    """Why ``sender`` may open no conversation now (they opened the limit recently), else None.
    Internal users (agents forwarding customers' mail, colleagues) are never counted."""
    if guard.conversations <= 0 or not sender or lookup.is_active_user(sender):
        return None
    opened = lookup.conversations_opened_by(sender, now - timedelta(minutes=guard.minutes))
    if opened < guard.conversations:
        return None
    return Phrase("flood guard: {sender} opened {opened} conversations in the last {minutes} minutes (limit {limit});"
                  " no new conversation and no automatic mail until that passes", sender=sender, opened=opened,
                  minutes=guard.minutes, limit=guard.conversations)


def apply_flood_guard(decision: Decision, sender: str, lookup: Lookup, now: datetime,
                      guard: FloodGuard = FloodGuard()) -> Decision:
    """A flooding sender's mail that would open a conversation waits in the manual queue instead.
    The sender counted is the one the conversation would be opened by: for an agent's forward,
    the original sender (``decision.submitted_by``), never the forwarding agent."""
    if decision.action != act.NEW:
        return decision
    reason = flood_reason(decision.submitted_by or sender, lookup, now, guard)
    if reason:
        decision.evidence = Phrase("{reason}; {rule} would have opened it ({evidence})", reason=reason,
                                   rule=decision.rule, evidence=decision.evidence)
        decision.action, decision.rule, decision.project = act.QUEUED, "flood_guard", None
    return decision


def should_auto_reply(message: InboundMessage, decision: Decision, lookup: Lookup, now: datetime,
                      policy: AutoReplyPolicy = AutoReplyPolicy(), guard: FloodGuard = FloodGuard(),
                      fetched_at: datetime | None = None) -> AutoReplyVerdict:
    """Whether the inbox answers this mail automatically, with the reason either way.

    Call it once the store recorded the mail. ``now`` is the time the windows count back from; ``fetched_at`` (default ``now``) is
    when the mail was fetched, for its age. The reply goes to the mail's sender.
    """
    recipient = message.from_addr
    if not policy.enabled:
        return AutoReplyVerdict(False, Phrase("automatic reply is switched off for this inbox"))
    if decision.action != act.NEW:
        return AutoReplyVerdict(False, Phrase("only a mail that opens a new conversation is answered"
                                              " (this one: {action})", action=decision.action))
    if decision.machine:
        template = ("machine mail is never answered (suspected {kind}: {signal})" if decision.machine.get("suspected")
                    else "machine mail is never answered ({kind}: {signal})")
        return AutoReplyVerdict(False, Phrase(template, kind=decision.machine.get("kind"),
                                              signal=decision.machine.get("signal")))
    if not recipient:
        return AutoReplyVerdict(False, Phrase("the mail has no sender address to answer"))
    if lookup.inbox(recipient) is not None:
        return AutoReplyVerdict(False, Phrase("{recipient} is one of the site's own inboxes", recipient=recipient))
    pattern = never_answer_match(recipient, policy.never_answer)
    if pattern:
        return AutoReplyVerdict(False, Phrase("{recipient} matches the never-answer pattern {pattern}",
                                              recipient=recipient, pattern=repr(pattern)))
    fetched_at = fetched_at or now
    if policy.max_age_hours > 0:
        age = fetched_at - mail_time(message.date, fetched_at)
        if age > timedelta(hours=policy.max_age_hours):
            return AutoReplyVerdict(False, Phrase("the mail is {hours} hours old (limit {limit})",
                                                  hours=f"{age.total_seconds() / 3600:.1f}",
                                                  limit=f"{policy.max_age_hours:g}"))
    flooding = flood_reason(recipient, lookup, now, guard)
    if flooding:
        return AutoReplyVerdict(False, flooding)
    window = timedelta(minutes=policy.window_minutes)
    if policy.window_minutes > 0 and lookup.automatic_mails_to(recipient, now - window) > 0:
        return AutoReplyVerdict(False, Phrase("an automatic mail went to {recipient} in the last {minutes} minutes"
                                              " (one per window)", recipient=recipient, minutes=policy.window_minutes))
    if policy.per_conversation_per_day > 0 and decision.conversation is not None and \
            lookup.automatic_mails_in(decision.conversation, now - DAY) >= policy.per_conversation_per_day:
        return AutoReplyVerdict(False, Phrase("conversation {conversation} already had {count} automatic mails today",
                                              conversation=decision.conversation,
                                              count=policy.per_conversation_per_day))
    return AutoReplyVerdict(True, Phrase("a new conversation from {recipient}, within every limit",
                                         recipient=recipient))
