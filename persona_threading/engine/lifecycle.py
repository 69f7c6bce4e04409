"""What an inbound reply does to its ticket's status: auto-resume, reopen, or nothing.

Statuses are site data (ERPNext's Issue has Open/Replied/On Hold/Resolved/Closed; a project
may use others), so a StatusMap says what each one *means*; the rules here speak only of
meanings. Machine-written mail (out-of-office, bounces) never changes anything: stock Frappe
reopens an Issue on any received mail, even an auto-reply. Only a customer's reply does: a
public reply of the requester or an active CC (Resolvd's rule); an agent's note or response,
a follower's mail and a third party's private reply change no status and open nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .gratitude import is_gratitude
from .participants.roles import PUBLIC, SENDER_CC, SENDER_REQUESTER
from .phrases import Phrase

AWAITING_INPUT, IN_PROGRESS, RESOLVED, CLOSED = "awaiting_input", "in_progress", "resolved", "closed"

RESUME_NOTE = Phrase("Auto-resumed: inbound reply received while awaiting input")


@dataclass(frozen=True)
class StatusMap:
    """Which statuses mean what; ``in_progress`` is the one a resumed/reopened ticket gets."""

    awaiting_input: tuple[str, ...] = ("Replied",)
    in_progress: str = "Open"
    resolved: tuple[str, ...] = ("Resolved",)
    closed: tuple[str, ...] = ("Closed",)

    def meaning(self, status: str | None) -> str | None:
        for meaning, statuses in ((AWAITING_INPUT, self.awaiting_input), (RESOLVED, self.resolved),
                                  (CLOSED, self.closed)):
            if status in statuses:
                return meaning
        return IN_PROGRESS if status == self.in_progress else None


# What a reply to a closed ticket does.
CLOSED_REOPEN, CLOSED_NEW_LINKED, CLOSED_REOPEN_WITHIN = "reopen", "new_linked", "reopen_within"
#: What both tickets say when a reply to the closed one opened the other.
NEW_LINKED_NOTE = Phrase("Customer replied to a closed ticket: a new ticket was opened and linked")


@dataclass(frozen=True)
class LifecyclePolicy:
    statuses: StatusMap = StatusMap()
    gratitude_grace_days: float = 7  # a thank-you within this many days of resolving does not reopen
    closed: str = CLOSED_NEW_LINKED
    reopen_within_days: float = 14  # for CLOSED_REOPEN_WITHIN


@dataclass(frozen=True)
class Transition:
    """``action``: none | resume | reopen | new_linked; ``status`` to set (None: keep)."""

    action: str
    status: str | None
    event: str | None
    note: str


#: Who a reply must come from to change a status (a decision's sender_role), and as what.
CUSTOMER_ROLES = (SENDER_REQUESTER, SENDER_CC)


def on_inbound_reply(status: str | None, text: str, machine_written: bool,
                     days_since_update: float | Callable[[], float], policy: LifecyclePolicy = LifecyclePolicy(),
                     sender_role: str | None = None, visibility: str | None = None) -> Transition:
    """The transition a threaded inbound reply causes on a ticket currently in ``status``.

    ``days_since_update`` may be a function: asked only for a resolved or closed ticket (the
    only statuses whose windows need it; reading it costs the caller a query).
    ``sender_role`` and ``visibility`` are the decision's (engine.participants.standing): a
    mail that is not a public reply of the requester or an active CC changes nothing, and the
    note says why. None for both: a caller that does not know them (every reply counts)."""
    if machine_written:
        return Transition("none", None, None, Phrase("machine-written reply: status left as it is"))
    transition = _customer_reply(status, text, days_since_update, policy)
    if transition.action == "none" or sender_role is None or (
            sender_role in CUSTOMER_ROLES and visibility == PUBLIC):
        return transition
    who = "CC" if sender_role == SENDER_CC else sender_role.replace("_", " ")
    template = ("status left {status}: the {who}'s public mail is no customer's reply (only a public reply of the"
                " requester or an active CC resumes or reopens a ticket)") if visibility == PUBLIC else (
        "status left {status}: the {who}'s private mail is no customer's reply (only a public reply of the"
        " requester or an active CC resumes or reopens a ticket)")
    return Transition("none", None, None, Phrase(template, status=Phrase(str(status)), who=Phrase(who)))


def _customer_reply(status: str | None, text: str, days_since_update: float | Callable[[], float],
                    policy: LifecyclePolicy) -> Transition:
    keep = Transition("none", None, None, "")
    meaning = policy.statuses.meaning(status)
    target = policy.statuses.in_progress
    if meaning == AWAITING_INPUT:
        return Transition("resume", target, "status_change_auto", RESUME_NOTE)
    if meaning in (RESOLVED, CLOSED) and callable(days_since_update):
        days_since_update = days_since_update()
    if meaning == RESOLVED:
        if is_gratitude(text) and days_since_update <= policy.gratitude_grace_days:
            return Transition("none", None, None, Phrase("thank-you reply to a resolved ticket: not reopened"))
        return Transition("reopen", target, "status_change_auto",
                          Phrase("Reopened: customer replied to a resolved ticket"))
    if meaning == CLOSED:
        if is_gratitude(text) and days_since_update <= policy.gratitude_grace_days:
            return Transition("none", None, None, Phrase("thank-you reply to a closed ticket: not reopened"))
        reopen = policy.closed == CLOSED_REOPEN or (
            policy.closed == CLOSED_REOPEN_WITHIN and days_since_update <= policy.reopen_within_days)
        if reopen:
            return Transition("reopen", target, "status_change_auto",
                              Phrase("Reopened: customer replied to a closed ticket"))
        return Transition("new_linked", None, "new_linked", NEW_LINKED_NOTE)
    return keep
