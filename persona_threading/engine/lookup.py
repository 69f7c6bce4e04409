"""The only questions rules may ask of storage.

Every method is an exact, indexed lookup, so the cost of routing does not grow with the
number of stored messages. The SQLite store and the Frappe adapter both implement it, and
one shared contract test runs against both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, Sequence

if TYPE_CHECKING:
    from .participants import Participant


@dataclass(frozen=True)
class StoredMessage:
    """A stored mail, with what tells a re-delivery of it from another mail reusing its id."""

    message_id: str
    conversation: str | None  # None while the message waits in the manual queue
    seq: int  # arrival order: higher is newer
    digest: str | None = None  # engine.message.content_digest() of the stored raw mail
    sender: str | None = None  # its From address as stored (InboundMessage.from_addr)
    sent_date: str | None = None  # its Date header as written


@dataclass(frozen=True)
class Project:
    name: str  # the project's id in the store (the prefix in the CLI, a Project name in Frappe)
    prefix: str
    title: str = ""
    accepts_inbound: bool = True  # a #PREFIX may open it from an inbox without project scopes


@dataclass(frozen=True)
class Inbox:
    """A receiving address and the projects it serves.

    ``scopes`` holds only eligible scopes (approved and receive-enabled); ``default_project``
    is only honoured when it is one of them.
    """

    address: str
    scopes: tuple[str, ...] = ()
    default_project: str | None = None
    has_scopes: bool = False  # any scope at all, eligible or not: decides new vs manual queue


class Lookup(Protocol):
    def conversation_by_key(self, key: str) -> str | None:
        """The conversation minted with this key."""

    def messages_by_ids(self, message_ids: Sequence[str]) -> list[StoredMessage]:
        """Stored messages (inbound or outbound) with any of these Message-IDs, newest first."""

    def conversation_by_thread_root(self, root: str) -> str | None:
        """The conversation whose first message carried this Outlook thread root."""

    def project_by_prefix(self, prefix: str) -> Project | None:
        """The project with this inbound prefix (case-insensitive)."""

    def inbox(self, address: str) -> Inbox | None:
        """The configured inbox receiving at this address (case-insensitive)."""

    def is_active_user(self, address: str) -> bool:
        """Whether the address belongs to an active internal user (agent)."""

    def is_agent(self, address: str) -> bool:
        """Whether the address belongs to an active agent, who may add CCs and reply publicly
        by email (Frappe: a user with ERPNext's Support Team role; CLI: an active ``[[user]]``).
        An internal user who is not an agent counts as anybody else for participants."""

    def is_light_agent(self, address: str) -> bool:
        """Whether the address belongs to an active internal user who is a light agent (Frappe:
        the role PT Light Agent, whatever other roles they have; CLI: ``light_agent = true``):
        their mail never adds CCs and is never public."""

    def participants(self, conversation: str) -> list[Participant]:
        """Every participant of ``conversation``, active or not, in the order they joined
        (engine.participants.Participant: email, stored role, active). One indexed lookup on
        conversation; it decides who joins, leaves and comes back with each message."""

    def participant_role(self, conversation: str, address: str) -> str | None:
        """The stored role (engine.participants: Requester, CC, Third party, Assignee, or a
        store's own such as Follower) of ``address`` (case-insensitive) among the ACTIVE
        participants of ``conversation``; None when they are not one. One indexed lookup on
        (conversation, email). It gates weak identifiers (Thread-Index) and sets a reply's
        sender_role and visibility."""

    # Counts for loop and flood protection (engine.limits). ``since`` is timezone-aware;
    # each is a range count on an index of (key, time), so it stays cheap with history.

    def conversations_opened_by(self, sender: str, since: datetime) -> int:
        """How many conversations mail from ``sender`` (case-insensitive) opened at or after
        ``since``: the flood guard's count."""

    def automatic_mails_to(self, address: str, since: datetime) -> int:
        """How many automatic mails (auto-replies) went to ``address`` (case-insensitive) at or
        after ``since``: at most one per window."""

    def automatic_mails_in(self, conversation: str, since: datetime) -> int:
        """How many automatic mails went out on ``conversation`` at or after ``since``."""
