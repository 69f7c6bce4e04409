"""Who joins, leaves and comes back with each message: the changes a store applies to a
conversation's participants, each with the reason its audit row shows.

- Everyone on From, To and Cc joins once per conversation, except the site's own addresses.
  Whoever opens a conversation is its Requester (for an agent's forward, the original
  sender; the forwarding agent is the Assignee); an agent writing by email joins as Agent;
  anyone else whose reply threads is a Third party (a requester-less conversation, started
  by our own mail, takes its first writer as Requester).
- Recipients join as CC only when the author may add CCs: the requester, an active CC or
  an agent, never a light agent. Internal users named on a mail are not added (followers
  are added from the form only), and an address on the CC blocklist never is. A Third party
  named by such an author becomes a CC. Each of these says why when it is ignored.
- Removal (Zendesk's rule): an active CC left off a mail by the requester or an active CC
  becomes inactive, when the requester is on that mail (as sender or recipient); a plain
  Reply by the requester leaves every CC off. An agent's response (a public reply, from the
  conversation or by email, that reaches the requester or an active CC) defines the CC list
  as Zendesk and Lime do: a CC it leaves off becomes inactive. Otherwise leaving someone off
  is ignored, and the audit says why. A later mail from someone who may add CCs that names
  them again brings them back; their own mail alone does not. A follower removed from the
  form comes back from the form only (whether or not they are still an internal user).
- CCs by email can be switched off (``ccs_by_email``): then mail adds nobody as CC; CCs are
  added from the conversation only (the panel, a reply written there).
- An agent who replies from the conversation follows it (``responder_follows``).
- Auto-replies and bounces change nobody (an out-of-office sent to one address must not
  drop the CCs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import decision as act
from ..message import InboundMessage
from ..phrases import Phrase
from .directory import Directory
from .roles import (AGENT, ASSIGNEE, CC, FOLLOWER, PUBLIC, REQUESTER, SENDER_AGENT, SENDER_CC,
                    SENDER_LIGHT_AGENT, SENDER_REQUESTER, THIRD_PARTY, Participant, Roster)
from .standing import OPENING_ACTIONS, Standing, is_silent_machine_mail

# What a change does to a participant row.
JOIN, DEACTIVATE, REACTIVATE, CHANGE_ROLE, IGNORE = "join", "deactivate", "reactivate", "role", "ignore"

#: At most this many of a mail's To and Cc addresses are considered (each may cost a lookup
#: and a row): a mail naming thousands is mass mail, not a conversation's people.
MAX_NAMED_ADDRESSES = 100
#: Standings whose mail may add (and bring back) CCs.
MAY_ADD_CCS = (SENDER_REQUESTER, SENDER_CC, SENDER_AGENT)
#: Standings whose mail may remove CCs (when the requester is on it).
MAY_REMOVE_CCS = (SENDER_REQUESTER, SENDER_CC)
#: Stored roles a mail may bring back or change: customers' and strangers'. Anyone else (a
#: Follower, an Assignee, an Agent, a store's own role) is added and removed from the form.
EMAIL_ROLES = (REQUESTER, CC, THIRD_PARTY)


@dataclass(frozen=True)
class ParticipantChange:
    """One change to a participant row: ``join`` (a new row, active), ``deactivate``,
    ``reactivate``, ``role`` (same row, new role), or ``ignore`` (nothing changes; the
    reason is audited). ``role`` is the row's role after the change (None: no row)."""

    email: str
    change: str
    role: str | None
    reason: str


@dataclass(frozen=True)
class MessageFollower:
    """One address on the mail and the header it was in (PT Message Follower.role)."""

    email: str
    header: str  # From | To | Cc


@dataclass
class ParticipantPlan:
    """Everything a message does to the conversation's people.

    ``added_ccs``: who became a CC for the first time on this conversation and should get,
    once, the public history (engine.participants.public_history); CCs of the mail that
    opens a conversation (ours or a customer's) are not listed: there is no history before it.
    """

    changes: list[ParticipantChange] = field(default_factory=list)
    added_ccs: list[str] = field(default_factory=list)
    message_followers: list[MessageFollower] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready (by hand: dataclasses.asdict's deep copy was a tenth of routing time)."""
        return {"changes": [{"email": c.email, "change": c.change, "role": c.role, "reason": c.reason}
                            for c in self.changes],
                "added_ccs": list(self.added_ccs),
                "message_followers": [{"email": f.email, "header": f.header} for f in self.message_followers]}

    @classmethod
    def from_dict(cls, data: dict) -> "ParticipantPlan":
        return cls([ParticipantChange(**c) for c in data.get("changes", [])], list(data.get("added_ccs", [])),
                   [MessageFollower(**f) for f in data.get("message_followers", [])])


def message_followers(message: InboundMessage) -> list[MessageFollower]:
    """From, To and Cc of the mail, once per (address, header), in header order."""
    rows = [(message.from_addr, "From")] + [(a, "To") for a in message.to] + [(a, "Cc") for a in message.cc]
    return [MessageFollower(e, h) for e, h in dict.fromkeys((e.lower(), h) for e, h in rows if e)]


def plan_participants(decision, message: InboundMessage, roster: Roster, directory: Directory,
                      standing: Standing, forged: bool = False, ccs_by_email: bool = True) -> ParticipantPlan:
    """The changes ``message`` makes to ``roster`` (the participants of the conversation it
    lands in; empty for one it opens), given the sender's ``standing`` (standing_of).
    ``ccs_by_email`` off: the mail adds no CC (the site adds CCs from the conversation only)."""
    plan = ParticipantPlan(message_followers=message_followers(message))
    if decision.action == act.DUPLICATE or is_silent_machine_mail(decision):
        return plan
    planner = _Planner(decision, message, roster, directory, standing, forged, plan, ccs_by_email)
    planner.author()
    planner.recipients()
    planner.removals()
    return plan


class _Planner:
    """One message's walk over its addresses; each address is decided once."""

    def __init__(self, decision, message, roster, directory, standing, forged, plan, ccs_by_email=True):
        self.decision, self.message, self.roster, self.directory = decision, message, roster, directory
        self.standing, self.forged, self.plan = standing, forged, plan
        self.opening = decision.action in OPENING_ACTIONS
        self.sender = (decision.submitted_by or message.from_addr or "").lower()
        self.mid = f"<{message.message_id}>"
        self.seen: set[str] = set()
        self.ccs_by_email = ccs_by_email

    def add(self, email: str, change: str, role: str | None, reason: Phrase) -> None:
        self.seen.add(email)
        self.plan.changes.append(ParticipantChange(email, change, role, reason))

    def author(self) -> None:
        """The sender joins (for a forward, the original sender; the agent is the Assignee)."""
        assignee = (self.decision.assigned_to or "").lower()
        if self.decision.action == act.OUTBOUND or not self.sender or self.directory.is_own(self.sender):
            self.seen.add(self.sender)
        elif self.opening:
            self._join_or_become(self.sender, REQUESTER, Phrase("opened the conversation"))
        else:
            person = self.roster.get(self.sender)
            if person is None:
                role = REQUESTER if self.roster.requester is None else \
                    AGENT if self.directory.is_internal(self.sender) else THIRD_PARTY
                self.add(self.sender, JOIN, role, Phrase("{email} joined as {role}: wrote {mid}", email=self.sender,
                                                         role=Phrase(role), mid=self.mid))
            elif not person.active:
                back = Phrase("only a mail of the requester, a CC or an agent naming them brings them back") \
                    if person.role in EMAIL_ROLES else Phrase("followers are added from the form only")
                self.add(self.sender, IGNORE, person.role, Phrase(
                    "{email} wrote {mid} but was removed ({role}, inactive): {back}", email=self.sender, mid=self.mid,
                    role=Phrase(person.role), back=back))
            elif person.role == CC and self.roster.requester is None:
                self._join_or_become(self.sender, REQUESTER, Phrase("first to write in to a conversation without one"))
            self.seen.add(self.sender)
        if assignee and not self.directory.is_own(assignee):
            self._join_or_become(assignee, ASSIGNEE, Phrase("the forwarding agent"))

    def _join_or_become(self, email: str, role: str, why: Phrase) -> None:
        person = self.roster.get(email)
        if person is None:
            self.add(email, JOIN, role, Phrase("{email} joined as {role}: {why}", email=email, role=Phrase(role),
                                               why=why))
        elif person.role != role or not person.active:
            self.add(email, CHANGE_ROLE, role, Phrase("{email} is now {role} (was {was}): {why}", email=email,
                                                      role=Phrase(role), was=Phrase(person.role), why=why))
        self.seen.add(email)

    def cc_refusal(self) -> Phrase | None:
        """Why this mail's author may not add CCs (None: they may)."""
        who = self.message.header_from or self.sender or "(no sender)"
        if self.forged:
            return Phrase("the From {who} is shown forged", who=who)
        if self.standing.role == SENDER_LIGHT_AGENT:
            return Phrase("{who} is a light agent: their mail never adds CCs", who=who)
        if self.standing.role not in MAY_ADD_CCS:
            return Phrase("{who} ({standing}) is not the requester, a CC or an agent", who=who,
                          standing=Phrase(self.standing.role))
        if not self.ccs_by_email and self.decision.action != act.OUTBOUND:
            return Phrase("CCs by email are switched off: CCs are added from the conversation only")
        return None

    def recipients(self) -> None:
        refusal = self.cc_refusal()
        by = Phrase("by {who} ({standing}) on {mid}", who=self.message.header_from or self.sender,
                    standing=Phrase(self.standing.role), mid=self.mid)
        named = list(dict.fromkeys(a.lower() for a in self.message.to + self.message.cc))
        if len(named) > MAX_NAMED_ADDRESSES:
            self.decision.defects.append(Phrase(
                "the mail names {count} addresses; only the first {limit} were considered as CCs",
                count=len(named), limit=MAX_NAMED_ADDRESSES))
        for email in named[:MAX_NAMED_ADDRESSES]:
            if email in self.seen or self.directory.is_own(email):
                continue
            person = self.roster.get(email)
            if person is not None and person.active and person.role != THIRD_PARTY:
                self.seen.add(email)
                continue
            blocked = self.directory.blocked_by(email)
            role = person.role if person else None
            if self.directory.is_internal(email) and (person is None or person.role not in (CC, THIRD_PARTY)):
                self.add(email, IGNORE, role, Phrase("{email} is an internal user: followers are added from the form"
                                                     " only, not by email (named {by})", email=email, by=by))
            elif person is not None and person.role not in EMAIL_ROLES:
                self.add(email, IGNORE, role, Phrase("{email} stays an inactive {role}: followers are added from the"
                                                     " form only, not by email (named {by})", email=email,
                                                     role=Phrase(role), by=by))
            elif blocked:
                self.add(email, IGNORE, role, Phrase("{email} not added as CC: on the CC blocklist ({pattern}),"
                                                     " named {by}", email=email, pattern=blocked, by=by))
            elif refusal:
                self.add(email, IGNORE, role, Phrase("{email} not added as CC: {why}", email=email, why=refusal))
            elif person is None:
                self.add(email, JOIN, CC, Phrase("{email} added as CC {by}", email=email, by=by))
                self._history_for(email)
            elif person.role == THIRD_PARTY:
                self.add(email, CHANGE_ROLE, CC, Phrase("{email} is now CC (was {was}): named {by}", email=email,
                                                        was=Phrase(THIRD_PARTY), by=by))
                self._history_for(email)
            else:
                self.add(email, REACTIVATE, person.role, Phrase("{email} is back as {role}: named again {by}",
                                                                email=email, role=Phrase(person.role), by=by))

    def _history_for(self, email: str) -> None:
        """Only a conversation that had people before this mail has a history to send."""
        if not self.opening and self.roster.people:
            self.plan.added_ccs.append(email)

    def removals(self) -> None:
        """Active CCs this mail leaves off (Zendesk's removal rule)."""
        if self.opening or self.decision.conversation is None:
            return
        on_mail = {a.lower() for a in (self.message.header_from, self.sender, *self.message.to, *self.message.cc) if a}
        dropped = [p for p in self.roster.active_ccs if p.email.lower() not in on_mail | self.seen]
        if not dropped:
            return
        who = self.message.header_from or self.sender or "(no sender)"
        requester = self.roster.requester
        if self.agent_response():
            for person in dropped:
                self.add(person.email.lower(), DEACTIVATE, person.role, Phrase(
                    "{email} removed as CC: the agent's response {mid} from {who} left them off (an agent's response"
                    " defines the CCs)", email=person.email.lower(), mid=self.mid, who=who))
            return
        if self.forged or self.standing.role not in MAY_REMOVE_CCS:
            why = Phrase("{who} ({standing}) is not the requester or an active CC", who=who,
                         standing=Phrase(self.standing.role))
        elif requester is None or requester.email.lower() not in on_mail:
            why = Phrase("the requester is not on the mail")
        else:
            why = None
        for person in dropped:
            email = person.email.lower()
            if why:
                self.add(email, IGNORE, person.role, Phrase("{email} stays CC although {mid} left them off: {why}",
                                                            email=email, mid=self.mid, why=why))
            else:
                self.add(email, DEACTIVATE, person.role, Phrase(
                    "{email} removed as CC: {who} ({standing}) left them off {mid}", email=email, who=who,
                    standing=Phrase(self.standing.role), mid=self.mid))

    def agent_response(self) -> bool:
        """An agent's public reply to the customer side (the requester or an active CC is on
        it): its recipients are the CC list (Zendesk, Lime). A note, a light agent's mail or
        an agent's mail to someone else only (a vendor) defines nothing."""
        return (not self.forged and self.standing.role == SENDER_AGENT and self.standing.visibility == PUBLIC
                and bool(self.roster.customers_among(self.message.to + self.message.cc)))


def responder_follows(roster: Roster, user: str, internal: bool) -> ParticipantChange | None:
    """An agent who replies from the conversation follows it (Lime: "the support team members
    are added as followers"): a JOIN as Follower for an internal user who is not on it yet.
    Anyone already on it keeps their row (an agent who unfollowed comes back from the form
    only); None when nothing changes."""
    user = (user or "").lower()
    if not user or not internal or roster.get(user) is not None:
        return None
    return ParticipantChange(user, JOIN, FOLLOWER, Phrase("{email} follows the conversation: replied from it",
                                                          email=user))
