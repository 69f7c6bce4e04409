"""What the router decided about one message, and why: plain data, JSON-ready."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(slots=True)
class Attempt:
    """One rule tried: did it match, and on what evidence (also when it did not)."""

    rule: str
    matched: bool
    evidence: str


@dataclass(slots=True)
class Match:
    """A rule's positive answer: an existing conversation, or a project for a new one."""

    evidence: str
    conversation: str | None = None
    project: str | None = None


@dataclass(slots=True)
class Miss:
    """A rule's negative answer, with the evidence for why it did not match."""

    evidence: str


# Actions
NEW = "new"
THREADED = "threaded"
QUEUED = "queued"
IGNORED = "ignored"
DUPLICATE = "duplicate"
OUTBOUND = "outbound"


@dataclass
class Decision:
    """The outcome for one message.

    ``rule`` names the rule that decided (a chain rule, or ``new``, ``duplicate``,
    ``outbound``, ``manual_queue``, ``auto_reply``, ``bounce``, ``bulk_mail``, ``flood_guard``);
    ``attempts`` lists every rule tried in order. ``machine`` says what kind of machine mail
    it is (engine.machine_mail): an adapter changes no status and sends nothing for an
    auto_reply or bounce on strong evidence (``machine_mail.is_silent``), and never
    auto-answers any machine mail, suspected or not. ``conversation`` is filled by the store once it has created or found one.
    """

    message_id: str | None
    action: str
    rule: str
    evidence: str
    conversation: str | None = None
    project: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    submitted_by: str | None = None
    assigned_to: str | None = None
    attribution: str | None = None  # why submitted_by / assigned_to are who they are
    machine: dict | None = None  # {"kind": auto_reply|bounce|bulk, "signal": ..., "suspected": bool};
    # None: a person's mail. suspected: weak evidence only, routed like a person's mail
    authenticity: dict | None = None  # {"verdict": forged|authenticated|unverified, "evidence": ...}
    sender_role: str | None = None  # requester|cc|follower|agent|light_agent|third_party (None: a duplicate)
    visibility: str | None = None  # public|private (engine.participants.standing)
    standing: str | None = None  # why sender_role and visibility are what they are
    warning: str | None = None  # shown on the conversation until an agent acts ("reply from a third party: …")
    participants: dict | None = None  # engine.participants.ParticipantPlan.as_dict(): changes, added_ccs,
    # message_followers (None: a duplicate, or a decision not reviewed yet)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Decision":
        """A stored ``as_dict()`` back as a Decision (unknown keys from other versions ignored)."""
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields.setdefault("message_id", None)
        fields.setdefault("action", "")
        fields.setdefault("rule", "")
        fields.setdefault("evidence", "")
        fields["attempts"] = [Attempt(**a) for a in data.get("attempts", [])]
        return cls(**fields)

    def explain(self) -> str:
        """Human-readable lines: the verdict, then every rule tried."""
        where = f" -> conversation {self.conversation}" if self.conversation else ""
        project = f" (project {self.project})" if self.project else ""
        lines = [f"{self.action} by {self.rule}{where}{project}: {self.evidence}"]
        for attempt in self.attempts:
            mark = "MATCH" if attempt.matched else "  -  "
            lines.append(f"  [{mark}] {attempt.rule:<16} {attempt.evidence}")
        if self.attribution:
            lines.append(f"  [submitter] {self.attribution}")
        if self.machine:
            suspected = "suspected " if self.machine.get("suspected") else ""
            lines.append(f"  [machine] {suspected}{self.machine.get('kind')}: {self.machine.get('signal')}")
        if self.sender_role:
            lines.append(f"  [sender] {self.sender_role}, {self.visibility}: {self.standing}")
        if self.warning:
            lines.append(f"  [warning] {self.warning}")
        for change in (self.participants or {}).get("changes", []):
            lines.append(f"  [participant] {change['change']}: {change['reason']}")
        if self.authenticity and self.authenticity.get("verdict") != "unverified":
            lines.append(f"  [authenticity] {self.authenticity.get('verdict')}: {self.authenticity.get('evidence')}")
        for defect in self.defects:
            lines.append(f"  [defect] {defect}")
        return "\n".join(lines)
