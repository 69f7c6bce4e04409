"""Replay mail history through the engine and compare each decision with the ticket another
system put the mail on.

``persona-threading compare`` feeds it a mailbox and a Message-ID → ticket mapping; a
Frappe-side preview can feed it a site's Communications with the Issue stock Frappe chose.
So it takes already-built ``InboundMessage`` objects and never imports frappe. The history
goes into a throwaway in-memory store, oldest first: each mail is routed against the
history as it was when that mail arrived. Engine conversations are numbered by that store
and mean nothing elsewhere; the report speaks in the other system's tickets. For the same
reason a token our app stamped on earlier mail names no conversation here: headers thread.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Callable, Iterable, TypeVar

from .config import Config
from .engine import decision as act
from .engine.decision import Decision
from .engine.limits import parse_date
from .engine.message import InboundMessage, normalize_message_id
from .session import Session
from .store.sqlite import SqliteStore
from .terminal import terminal_safe

# Outcomes: stable ids, shown in reports and used as JSON keys.
SAME = "same"  # same ticket, both opened a new one, or neither put it on a ticket
OTHER_TICKET = "other_ticket"  # the engine threaded it onto another of their existing tickets
NEW_INSTEAD_OF_EXISTING = "new_instead_of_existing"  # the engine opened one; they attached it
EXISTING_INSTEAD_OF_NEW = "existing_instead_of_new"  # the engine threaded it; they opened a ticket
QUEUED = "queued"  # the engine waits for a reviewer; they put it on a ticket
IGNORED = "ignored"  # the engine opened nothing (out-of-office, bounce); they made or fed a ticket
NO_TICKET = "no_ticket"  # they put it on no ticket; the engine opened or threaded it
UNMAPPED = "unmapped"  # the mapping does not name the mail: nothing to compare with
OUTCOMES = (SAME, OTHER_TICKET, NEW_INSTEAD_OF_EXISTING, EXISTING_INSTEAD_OF_NEW, QUEUED, IGNORED,
            NO_TICKET, UNMAPPED)
DISAGREEMENTS = frozenset(OUTCOMES) - {SAME, UNMAPPED}

# Mail counted but not compared.
OUTBOUND = "outbound"  # received mail the engine says our own inbox sent
SENT = "sent"  # feed_sent: recorded on the conversation of its ticket
SENT_SKIPPED = "sent_skipped"  # feed_sent: no engine conversation corresponds to its ticket yet
NOT_COMPARED = (OUTBOUND, SENT, SENT_SKIPPED)

CSV_COLUMNS = ("ref", "message_id", "date", "sender", "subject", "outcome", "rule", "engine_ticket",
               "their_ticket", "explanation")

T = TypeVar("T")


class MappingError(ValueError):
    """A Message-ID → ticket mapping that cannot be used; the message says why."""


@dataclass(frozen=True)
class Comparison:
    """One received mail: where the engine put it, where the other system put it, and why.

    ``engine_ticket`` is the other system's ticket that the engine's conversation corresponds
    to; None when the engine opened a new conversation or put the mail on none.
    """

    ref: str
    message_id: str | None
    date: str | None
    subject: str
    sender: str
    outcome: str
    action: str
    rule: str
    explanation: str
    engine_ticket: str | None
    their_ticket: str | None

    @property
    def agrees(self) -> bool:
        return self.outcome == SAME

    def as_dict(self) -> dict:
        return asdict(self) | {"agrees": self.agrees}


class ComparisonReport:
    """Counts per outcome and per engine rule, and the disagreements in arrival order."""

    def __init__(self) -> None:
        self.outcomes = dict.fromkeys(OUTCOMES, 0)
        self.rules: dict[str, dict[str, int]] = {}  # rule -> {"compared": n, "disagreements": n}
        self.not_compared = dict.fromkeys(NOT_COMPARED, 0)
        self.disagreements: list[Comparison] = []

    def add(self, comparison: Comparison) -> None:
        self.outcomes[comparison.outcome] += 1
        if comparison.outcome == UNMAPPED:
            return
        counts = self.rules.setdefault(comparison.rule, {"compared": 0, "disagreements": 0})
        counts["compared"] += 1
        if comparison.outcome in DISAGREEMENTS:
            counts["disagreements"] += 1
            self.disagreements.append(comparison)

    @property
    def compared(self) -> int:
        return sum(self.outcomes.values()) - self.outcomes[UNMAPPED]

    def as_dict(self) -> dict:
        return {"compared": self.compared, "agree": self.outcomes[SAME],
                "disagree": len(self.disagreements), "outcomes": dict(self.outcomes),
                "rules": {rule: dict(self.rules[rule]) for rule in sorted(self.rules)},
                "not_compared": dict(self.not_compared),
                "disagreements": [c.as_dict() for c in self.disagreements]}

    def write_csv(self, fileobj) -> None:
        """One row per disagreement under a header row; ``fileobj`` opened with ``newline=""``."""
        writer = csv.writer(fileobj)
        writer.writerow(CSV_COLUMNS)
        for c in self.disagreements:
            row = asdict(c)
            writer.writerow([_spreadsheet_safe(row[column]) for column in CSV_COLUMNS])

    def summary_lines(self) -> list[str]:
        """Human output, terminal-safe: counts, then each disagreement with its explanation."""
        width = max(map(len, OUTCOMES + tuple(self.rules)))
        n = self.not_compared
        lines = [f"compared {self.compared} mails with the other system's tickets: {self.outcomes[SAME]} agree,"
                 f" {len(self.disagreements)} disagree; {self.outcomes[UNMAPPED]} not in the mapping",
                 f"not compared: {n[OUTBOUND]} sent from our inboxes, {n[SENT]} sent mails recorded,"
                 f" {n[SENT_SKIPPED]} sent mails skipped (no conversation for their ticket)",
                 "outcomes:"]
        lines += [f"  {outcome:<{width}}  {count}" for outcome, count in self.outcomes.items()]
        lines.append("rules (compared, disagreements):")
        lines += [f"  {rule:<{width}}  {self.rules[rule]['compared']}  {self.rules[rule]['disagreements']}"
                  for rule in sorted(self.rules)]
        lines.append("disagreements:" if self.disagreements else "disagreements: none")
        for c in self.disagreements:
            mid = f"<{c.message_id}>" if c.message_id else "(no Message-ID)"
            lines += [f"  {c.outcome}: {c.ref} {mid}",
                      f"    From: {c.sender}  Subject: {c.subject}",
                      f"    engine: {_engine_side(c)}; they: {c.their_ticket or 'no ticket'}"]
            lines += [f"    | {line}" for line in c.explanation.splitlines()]
        return [terminal_safe(line) for line in lines]


def _engine_side(c: Comparison) -> str:
    if c.engine_ticket is not None:
        return f"{c.action} by {c.rule} onto {c.engine_ticket}"
    return f"{c.action} by {c.rule}" + (" (a new conversation)" if c.action == act.NEW else "")


def _spreadsheet_safe(value: object) -> str:
    """Mail text a spreadsheet would run as a formula (=, +, -, @ first) is quoted with '."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class Replayer:
    """Replays one system's history, oldest first, into a throwaway store and compares.

    Each engine conversation corresponds to one of their tickets: the ticket of the mail that
    opened it ("new:<message-id>" when they put that mail on none). A conversation opened by
    a mail the mapping does not name takes the ticket of the first mapped mail that lands on it.
    """

    def __init__(self, config: Config | None = None):
        self.session = Session(SqliteStore(":memory:"), config)
        self.report = ComparisonReport()
        self._ticket_of: dict[str, str | None] = {}  # engine conversation -> their ticket (None: unknown)
        self._conversation_of: dict[str, str] = {}  # their ticket -> the engine conversation mapped last
        self._seen: set[str] = set()  # their tickets met so far

    def close(self) -> None:
        self.session.store.close()

    def __enter__(self) -> "Replayer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def feed_received(self, message: InboundMessage, their_ticket: str | None, ref: str,
                      at: datetime | None = None, *, mapped: bool = True) -> Comparison | None:
        """Route a received mail as ``route`` does and compare it; None for our own outbound mail.

        ``their_ticket`` None: they put it on no ticket. ``mapped`` False: the other system's
        answer is unknown (outcome ``unmapped``). ``at``: when it arrived (default: its Date).
        """
        decision, _ = self.session.handle(message, at)
        conversation = decision.conversation
        opened = conversation is not None and conversation not in self._ticket_of
        if opened:
            self._ticket_of[conversation] = None
        ours = self._ticket_of.get(conversation) if conversation is not None else None
        existed = their_ticket is not None and their_ticket in self._seen
        if mapped:
            self._learn(conversation, their_ticket, message)
            if ours is None and not opened and conversation is not None:
                ours = self._ticket_of[conversation]  # adopted: nothing to disagree with
        if decision.action == act.OUTBOUND:
            self.report.not_compared[OUTBOUND] += 1
            return None
        outcome = _outcome(decision, opened, ours, their_ticket, existed) if mapped else UNMAPPED
        comparison = Comparison(ref, message.message_id, message.date or None, message.subject,
                                message.from_addr, outcome, decision.action, decision.rule, decision.explain(),
                                None if opened else ours, their_ticket if mapped else None)
        self.report.add(comparison)
        return comparison

    def feed_sent(self, message: InboundMessage, their_ticket: str, at: datetime | None = None) -> Decision | None:
        """Record mail they sent from ``their_ticket`` on the conversation that corresponds to
        it, so replies naming it thread; None (counted) when no conversation does yet."""
        self._seen.add(their_ticket)
        conversation = self._conversation_for(their_ticket, message)
        if conversation is None:
            self.report.not_compared[SENT_SKIPPED] += 1
            return None
        self.report.not_compared[SENT] += 1
        return self.session.record_sent(message, conversation, f"sent from their ticket {their_ticket}", at)

    def _learn(self, conversation: str | None, their_ticket: str | None, message: InboundMessage) -> None:
        if their_ticket is not None:
            self._seen.add(their_ticket)
        if conversation is not None and self._ticket_of.get(conversation) is None:
            ticket = their_ticket if their_ticket is not None else f"new:{message.message_id}"
            self._ticket_of[conversation] = ticket
            self._conversation_of[ticket] = conversation

    def _conversation_for(self, ticket: str, message: InboundMessage) -> str | None:
        """Of the ticket's conversations, the one the sent mail replies to, else the last mapped."""
        ids = message.in_reply_to + message.references
        for stored in self.session.store.messages_by_ids(ids) if ids else ():
            if stored.conversation is not None and self._ticket_of.get(stored.conversation) == ticket:
                return stored.conversation
        return self._conversation_of.get(ticket)


def _outcome(decision: Decision, opened: bool, ours: str | None, theirs: str | None, existed: bool) -> str:
    if decision.conversation is None:  # queued, ignored, or a duplicate of such a mail
        if theirs is None:
            return SAME
        return QUEUED if decision.action == act.QUEUED else IGNORED
    if theirs is None:
        return NO_TICKET
    if opened:
        return NEW_INSTEAD_OF_EXISTING if existed else SAME
    if ours == theirs:
        return SAME
    return OTHER_TICKET if existed else EXISTING_INSTEAD_OF_NEW


def oldest_first(items: Iterable[T], date_of: Callable[[T], str | None]) -> list[tuple[T, datetime | None]]:
    """Items by their Date header, ties in the given order, each with that time.

    An item without a readable Date keeps its place after the item before it (taking its
    time); leading ones go before the first dated item. None only when nothing has a Date.
    """
    items = list(items)
    times = [parse_date(date_of(item)) for item in items]
    last = next((t for t in times if t is not None), None)
    if last is None:
        return [(item, None) for item in items]
    effective = []
    for written in times:
        last = written or last
        effective.append(last)
    order = sorted(range(len(items)), key=lambda i: (effective[i], i))
    return [(items[i], effective[i]) for i in order]


def message_key(message_id: str) -> str:
    """A Message-ID as the mapping knows it: the engine's normalisation (no angle brackets),
    domain lower-cased (RFC 5322 domains are case-insensitive)."""
    mid = normalize_message_id(message_id) or message_id.strip().strip("<>").strip()
    local, at, domain = mid.rpartition("@")
    return f"{local}@{domain.lower()}" if at else mid


_JSON_TYPES = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number",
               bool: "a boolean", type(None): "null"}


def ticket_map(data: object) -> dict[str, str | None]:
    """Parsed JSON ``{"<message-id>": "<ticket>" | null}`` keyed by ``message_key``.

    null: they put the mail on no ticket. Raises MappingError naming the first bad entry.
    """
    if not isinstance(data, dict):
        raise MappingError(f'expected a JSON object {{"<message-id>": "<ticket>"}}, not {_JSON_TYPES.get(type(data))}')
    tickets: dict[str, str | None] = {}
    for message_id, ticket in data.items():
        if ticket is not None and (not isinstance(ticket, str) or not ticket.strip()):
            what = "an empty string" if isinstance(ticket, str) else _JSON_TYPES.get(type(ticket))
            raise MappingError(f"the ticket of {message_id!r} must be a non-empty string or null, not {what}")
        key = message_key(message_id)
        if not key:
            raise MappingError(f"{message_id!r} is not a Message-ID")
        if tickets.get(key, ticket) != ticket:
            raise MappingError(f"{message_id!r} names the same Message-ID as an earlier entry, with another ticket")
        tickets[key] = ticket
    return tickets
