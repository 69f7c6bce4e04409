"""Replay mail history through the engine and compare each decision with the ticket another
system put the mail on.

``persona-threading compare`` feeds it a mailbox and a Message-ID → ticket mapping; a
Frappe-side preview can feed it a site's Communications with the Issue stock Frappe chose.
So it takes already-built ``InboundMessage`` objects and never imports frappe. The history
goes into a throwaway in-memory store, oldest first: each mail is routed against the
history as it was when that mail arrived. Engine conversations are numbered by that store
and mean nothing elsewhere; the report speaks in the other system's tickets. For the same
reason a token our app stamped on earlier mail names no conversation here (headers thread),
unless the front end knows each ticket's key in the other system (``identity``: a Frappe site
replaying what the app itself routed, with the site's secret).

A period the app itself routed replays to its own live decisions, except where a decision
depended on time or was changed later: the front end passes each mail's ``LiveDecision`` and
such a difference is named (``explained``: time_dependent, changed_later), not counted as a
disagreement.
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
from .engine.rules import THREADING_RULES
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
#: What each outcome means, in words (CLI summary; the desk form has its own translated copy).
OUTCOME_WORDS = {
    SAME: "both put it on the same ticket (or both on none)",
    OTHER_TICKET: "the engine threaded it onto another of their existing tickets",
    NEW_INSTEAD_OF_EXISTING: "the engine opened a new ticket; they put it on an existing one",
    EXISTING_INSTEAD_OF_NEW: "the engine threaded it onto an existing ticket; they opened a new one",
    QUEUED: "the engine waits for a reviewer (manual queue); they put it on a ticket",
    IGNORED: "the engine opened nothing (an out-of-office or a bounce); they made or fed a ticket",
    NO_TICKET: "they put it on no ticket; the engine opened or threaded it",
    UNMAPPED: "their ticket is unknown: counted, not compared",
}

# Differences from the app's own live decision that are no disagreement (``explained``).
TIME_DEPENDENT = "time_dependent"  # the flood guard's window, a ticket closed at the time (lifecycle)
CHANGED_LATER = "changed_later"  # an agent moved the mail, a reviewer placed it from the queue
EXPLAINED = (TIME_DEPENDENT, CHANGED_LATER)
FLOOD_GUARD = "flood_guard"
_THREADING_RULES = frozenset(rule.name for rule in THREADING_RULES)

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
    cause: str | None = None  # why a difference is not a disagreement (``ComparisonReport.explained``)

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
        self.explained = dict.fromkeys(EXPLAINED, 0)  # differences named, not counted as disagreements
        self.named: list[Comparison] = []
        self.routed_live = 0  # compared mails our app itself routed when they arrived

    def add(self, comparison: Comparison, explained: str | None = None, live: bool = False) -> None:
        """Count a comparison; ``explained`` (TIME_DEPENDENT, CHANGED_LATER): a difference with
        a known cause, listed in ``named`` instead of ``disagreements``. ``live``: our app
        routed the mail when it arrived (what the summary compares with)."""
        self.routed_live += live and comparison.outcome != UNMAPPED
        if explained:
            self.explained[explained] += 1
            self.named.append(comparison)
            return
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
        return sum(self.outcomes.values()) - self.outcomes[UNMAPPED] + sum(self.explained.values())

    def as_dict(self) -> dict:
        return {"compared": self.compared, "agree": self.outcomes[SAME],
                "disagree": len(self.disagreements), "outcomes": dict(self.outcomes),
                "rules": {rule: dict(self.rules[rule]) for rule in sorted(self.rules)},
                "not_compared": dict(self.not_compared), "explained": dict(self.explained),
                "routed_live": self.routed_live,
                "disagreements": [c.as_dict() for c in self.disagreements],
                "named": [c.as_dict() for c in self.named]}

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
        lines = [f"compared {self.compared} mails with {self._compared_with()}: {self.outcomes[SAME]} agree,"
                 f" {len(self.disagreements)} disagree; {self.outcomes[UNMAPPED]} not in the mapping",
                 f"not compared: {n[OUTBOUND]} sent from our inboxes, {n[SENT]} sent mails recorded,"
                 f" {n[SENT_SKIPPED]} sent mails skipped (no conversation for their ticket)",
                 "outcomes:"]
        lines += [f"  {outcome:<{width}}  {count}" for outcome, count in self.outcomes.items()]
        lines.append("legend: " + "; ".join(f"{o} = {w}" for o, w in OUTCOME_WORDS.items()))
        if self.named:
            e = self.explained
            lines.append(f"not disagreements: {e[TIME_DEPENDENT]} depend on time (flood guard, a closed ticket),"
                         f" {e[CHANGED_LATER]} were changed later (moved, placed from the queue)")
            lines += [f"  {c.ref}: {c.cause}" for c in self.named]
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


    def _compared_with(self) -> str:
        """What the replay was compared with: another system (stock Frappe, a mapping), our
        app's own live routing (a period it routed), or both (switched on during the period)."""
        if not self.routed_live:
            return "the other system's tickets"
        if self.routed_live == self.compared:
            return "the tickets this app put them on live"
        return (f"their tickets ({self.routed_live} routed live by this app,"
                f" {self.compared - self.routed_live} by the other system)")


def _engine_side(c: Comparison) -> str:
    if c.engine_ticket is not None:
        return f"{c.action} by {c.rule} onto {c.engine_ticket}"
    return f"{c.action} by {c.rule}" + (" (a new conversation)" if c.action == act.NEW else "")


def _spreadsheet_safe(value: object) -> str:
    """Mail text a spreadsheet would run as a formula (=, +, -, @ first) is quoted with '."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@dataclass(frozen=True)
class LiveDecision:
    """How our app itself routed a mail when it arrived (a replayed period it routed)."""

    action: str
    rule: str
    ticket: str | None  # the ticket that decision put it on (None: none)


#: (key, thread root) of one of their tickets in their system: what their tokens and Outlook
#: Thread-Index roots name (None, None when unknown).
Identity = Callable[[str], tuple[str | None, str | None]]


class Replayer:
    """Replays one system's history, oldest first, into a throwaway store and compares.

    Each engine conversation corresponds to one of their tickets: the ticket of the mail that
    opened it ("new:<message-id>" when they put that mail on none). A conversation opened by
    a mail the mapping does not name takes the ticket of the first mapped mail that lands on it.
    ``identity``: when given (their system is our app, replayed with its own secret), a
    conversation takes the key and thread root of the ticket it corresponds to, so the tokens
    and Thread-Index roots their mail carries name it, as they did live. ``report``: one shared
    with other replayers (a site whose ticket kinds each replay with their own configuration).
    """

    def __init__(self, config: Config | None = None, identity: Identity | None = None,
                 report: ComparisonReport | None = None):
        self.session = Session(SqliteStore(":memory:"), config)
        self.report = report if report is not None else ComparisonReport()
        self._identity = identity
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
                      at: datetime | None = None, *, mapped: bool = True,
                      live: LiveDecision | None = None) -> Comparison | None:
        """Route a received mail as ``route`` does and compare it; None for our own outbound mail.

        ``their_ticket`` None: they put it on no ticket. ``mapped`` False: the other system's
        answer is unknown (outcome ``unmapped``). ``at``: when it arrived (default: its Date).
        ``live``: how our app routed it live; a difference that depended on time or was
        changed later is named (``Comparison.cause``), not counted as a disagreement.
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
        explained, cause = _cause(decision, live, their_ticket) if outcome in DISAGREEMENTS else (None, None)
        comparison = Comparison(ref, message.message_id, message.date or None, message.subject,
                                message.from_addr, outcome, decision.action, decision.rule, decision.explain(),
                                None if opened else ours, their_ticket if mapped else None, cause)
        self.report.add(comparison, explained, live is not None)
        return comparison

    def feed_sent(self, message: InboundMessage, their_ticket: str, at: datetime | None = None) -> Decision | None:
        """Record mail they sent from ``their_ticket`` on the conversation that corresponds to
        it, so replies naming it thread; None (counted) when no conversation does yet. With
        ``identity`` (our own app's history) an agent who writes first opens it, as live."""
        self._seen.add(their_ticket)
        conversation = self._conversation_for(their_ticket, message)
        if conversation is None and self._identity is not None:
            conversation = self.session.store.create_conversation(message.subject, None)
            self._learn(conversation, their_ticket, message)
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
            if their_ticket is not None and self._identity is not None:
                self.session.store.take_identity(conversation, *self._identity(their_ticket))

    def _conversation_for(self, ticket: str, message: InboundMessage) -> str | None:
        """Of the ticket's conversations, the one the sent mail replies to, else the last mapped."""
        ids = message.in_reply_to + message.references
        for stored in self.session.store.messages_by_ids(ids) if ids else ():
            if stored.conversation is not None and self._ticket_of.get(stored.conversation) == ticket:
                return stored.conversation
        return self._conversation_of.get(ticket)


def _cause(decision: Decision, live: LiveDecision | None, theirs: str | None) -> tuple[str | None, str | None]:
    """Why the replay differs from our app's own live decision, when that is no disagreement:
    (TIME_DEPENDENT | CHANGED_LATER, the reason in words), else (None, None)."""
    if live is None:
        return None, None
    if FLOOD_GUARD in (decision.rule, live.rule):
        return TIME_DEPENDENT, ("the flood guard counts the sender's new tickets in a time window; live it"
                                f" {'queued' if live.rule == FLOOD_GUARD else 'did not queue'} this mail")
    if live.action == act.NEW and live.rule in _THREADING_RULES:
        return TIME_DEPENDENT, (f"lifecycle: {live.rule} named a ticket that was closed when the mail arrived,"
                                " so a new linked ticket was opened")
    if live.action in (act.QUEUED, act.IGNORED) and theirs is not None:
        return CHANGED_LATER, f"a reviewer placed it on {theirs} from the queue after it arrived"
    if live.ticket != theirs:
        return CHANGED_LATER, f"moved after routing: the app put it on {live.ticket or 'no ticket'}, it is now on" \
                              f" {theirs or 'no ticket'}"
    return None, None


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
