"""The embedded store: the engine's Lookup plus persistence, on stdlib sqlite3.

This module is the ONLY place the CLI persists anything. Every lookup the chain makes is an
equality lookup on an indexed column, so routing cost does not grow with history.

Several processes may route into one file at once: every write transaction takes the write
lock up front (BEGIN IMMEDIATE), waits for it (a busy timeout, then a bounded retry loop),
and a mail another process stored in the meantime (the unique key on Message-ID and
content digest) becomes a duplicate, not an error.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Sequence

from ..engine import decision as act
from ..engine.carriers import Keyring, generate_secret
from ..engine.decision import Decision
from ..engine.forwards import forward_audit_notes
from ..engine.lookup import Inbox, Project, StoredMessage
from ..engine.message import InboundMessage, parse_message
from ..engine.outgoing import strip_carriers
from ..engine.authenticity import NOT_CONFIGURED, Authenticity
from ..engine.participants import (CHANGE_ROLE, DEACTIVATE, JOIN, REACTIVATE, Participant, reply_recipients, review_participants)
from ..engine.thread_index import decode_thread_index
from .locking import BUSY_TIMEOUT_SECONDS, Transaction, retrying
from .schema import create_or_upgrade

class StoreError(Exception):
    """A request the store cannot satisfy (unknown conversation or message)."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _stamp(at: datetime | None) -> str:
    """A UTC ISO time that sorts as text (the count queries compare these)."""
    return _now() if at is None else at.astimezone(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ProjectConfig:
    prefix: str
    title: str = ""
    accepts_inbound: bool = True  # a #PREFIX may open it from an inbox without project scopes


@dataclass(frozen=True)
class InboxConfig:
    address: str
    projects: tuple[str, ...] = ()  # eligible scopes: mail routes there
    default_project: str | None = None
    paused_projects: tuple[str, ...] = ()  # scopes that take no mail now (ineligible)


@dataclass(frozen=True)
class UserConfig:
    email: str
    active: bool = True
    light_agent: bool = False  # reads and writes internal notes only: never adds CCs, never public


class SqliteStore:
    """Lookup + persistence over one SQLite file (``:memory:`` for tests)."""

    def __init__(self, path: str = ":memory:"):
        try:
            self.db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
            retrying(self._open, path)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open store {path}: {exc}") from exc
        self._inboxes: dict[str, Inbox] | None = None
        self._active_users: frozenset[str] | None = None
        self._light_agents: frozenset[str] | None = None

    def _open(self, path: str) -> None:
        if path != ":memory:":
            self.db.execute("PRAGMA journal_mode = WAL")
        with self._transaction():
            create_or_upgrade(self.db)
        self.db.execute("PRAGMA foreign_keys = ON")
        if path != ":memory:":
            self.db.execute("PRAGMA synchronous = NORMAL")

    def close(self) -> None:
        self.db.close()

    # -- configuration ----------------------------------------------------------------

    def keyring(self, configured: str | None = None) -> Keyring:
        """Sign with the configured secret, else one generated once and kept in this DB.

        The stored secret always verifies too, so adding a secret to the config later does
        not orphan tokens already sent.
        """
        row = self.db.execute("SELECT value FROM meta WHERE name = 'secret'").fetchone()
        stored = row[0] if row else None
        if not configured and not stored:  # another process may be generating one right now
            retrying(self.db.execute, "INSERT OR IGNORE INTO meta (name, value) VALUES ('secret', ?)",
                      (generate_secret(),))
            stored = self.db.execute("SELECT value FROM meta WHERE name = 'secret'").fetchone()[0]
        return Keyring(*dict.fromkeys(s for s in (configured, stored) if s))

    def apply_config(self, projects: Iterable[ProjectConfig], inboxes: Iterable[InboxConfig],
                     users: Iterable[UserConfig], cc_blocklist: Iterable[str] = ()) -> None:
        """Replace projects, inboxes, users and the CC blocklist with the given configuration."""
        retrying(self._apply_config, list(projects), list(inboxes), list(users), list(cc_blocklist))
        self._inboxes = self._active_users = self._light_agents = None

    def cc_blocklist(self) -> tuple[str, ...]:
        """The configured CC blocklist: it holds for mail stored without a routing decision too
        (a reply written by ``reply``, a reviewer's attach)."""
        row = self.db.execute("SELECT value FROM meta WHERE name = 'cc_blocklist'").fetchone()
        return tuple(json.loads(row[0])) if row else ()

    def _apply_config(self, projects: list[ProjectConfig], inboxes: list[InboxConfig],
                      users: list[UserConfig], cc_blocklist: list[str]) -> None:
        with self._transaction():
            self.db.execute("INSERT INTO meta (name, value) VALUES ('cc_blocklist', ?) ON CONFLICT (name)"
                            " DO UPDATE SET value = excluded.value", (json.dumps(cc_blocklist),))
            for table in ("inbox_scopes", "inboxes", "projects", "users"):
                self.db.execute(f"DELETE FROM {table}")
            self.db.executemany("INSERT INTO projects (prefix, title, accepts_inbound) VALUES (?, ?, ?)",
                                [(p.prefix, p.title, int(p.accepts_inbound)) for p in projects])
            for inbox in inboxes:
                self.db.execute("INSERT INTO inboxes (address, default_project) VALUES (?, ?)",
                                (inbox.address, inbox.default_project))
                self.db.executemany(
                    "INSERT INTO inbox_scopes (inbox, project, eligible) VALUES (?, ?, ?)",
                    [(inbox.address, p, 1) for p in inbox.projects]
                    + [(inbox.address, p, 0) for p in inbox.paused_projects])
            self.db.executemany("INSERT INTO users (email, active, light_agent) VALUES (?, ?, ?)",
                                [(u.email, int(u.active), int(u.light_agent)) for u in users])

    # -- the engine's Lookup ------------------------------------------------------------

    def conversation_by_key(self, key: str) -> str | None:
        row = self.db.execute("SELECT id FROM conversations WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def messages_by_ids(self, message_ids: Sequence[str]) -> list[StoredMessage]:
        ids = list(dict.fromkeys(message_ids))
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT message_id, conversation_id, id, digest, from_addr, sent_date FROM messages"
            f" WHERE message_id IN ({marks}) ORDER BY id DESC", ids).fetchall()
        return [StoredMessage(mid, None if conv is None else str(conv), seq, digest, sender, date or "")
                for mid, conv, seq, digest, sender, date in rows]

    def conversation_by_thread_root(self, root: str) -> str | None:
        row = self.db.execute("SELECT conversation_id FROM thread_roots WHERE root = ?",
                              (root,)).fetchone()
        return str(row[0]) if row else None

    def project_by_prefix(self, prefix: str) -> Project | None:
        row = self.db.execute("SELECT prefix, title, accepts_inbound FROM projects WHERE prefix = ?",
                              (prefix,)).fetchone()
        return Project(row[0], row[0], row[1], bool(row[2])) if row else None

    def inbox(self, address: str) -> Inbox | None:
        if self._inboxes is None:
            self._inboxes = self._load_inboxes()
        return self._inboxes.get(address.lower())

    def is_active_user(self, address: str) -> bool:
        """Users are a handful of config rows, asked about for most mails: read once per process."""
        if self._active_users is None:
            self._active_users = frozenset(row[0].lower() for row in
                                           self.db.execute("SELECT email FROM users WHERE active = 1"))
        return address.lower() in self._active_users

    def is_agent(self, address: str) -> bool:
        """Every active ``[[user]]`` of the CLI's config handles conversations."""
        return self.is_active_user(address)

    def is_light_agent(self, address: str) -> bool:
        """Read once per process, like the active users."""
        if self._light_agents is None:
            self._light_agents = frozenset(row[0].lower() for row in self.db.execute(
                "SELECT email FROM users WHERE active = 1 AND light_agent = 1"))
        return address.lower() in self._light_agents

    def participants(self, conversation: str) -> list[Participant]:
        return [Participant(email, role, bool(active)) for email, role, active in self.db.execute(
            "SELECT email, role, active FROM participants WHERE conversation_id = ? ORDER BY rowid", (conversation,))]

    def participant_role(self, conversation: str, address: str) -> str | None:
        row = self.db.execute("SELECT role FROM participants WHERE conversation_id = ? AND email = ? AND active = 1",
                              (conversation, address)).fetchone()
        return row[0] if row else None

    def conversations_opened_by(self, sender: str, since: datetime) -> int:
        return self.db.execute("SELECT COUNT(*) FROM conversations WHERE opened_by = ? AND opened_at >= ?",
                               (sender, _stamp(since))).fetchone()[0]

    def automatic_mails_to(self, address: str, since: datetime) -> int:
        return self.db.execute("SELECT COUNT(*) FROM automatic_mails WHERE recipient = ? AND sent_at >= ?",
                               (address, _stamp(since))).fetchone()[0]

    def automatic_mails_in(self, conversation: str, since: datetime) -> int:
        return self.db.execute("SELECT COUNT(*) FROM automatic_mails WHERE conversation_id = ? AND sent_at >= ?",
                               (conversation, _stamp(since))).fetchone()[0]

    def _load_inboxes(self) -> dict[str, Inbox]:
        """Inboxes are a handful of config rows: read once per process, not per message."""
        known = {row[0].lower() for row in self.db.execute("SELECT prefix FROM projects")}
        inboxes = {}
        for address, default in self.db.execute("SELECT address, default_project FROM inboxes"):
            scopes = self.db.execute("SELECT project, eligible FROM inbox_scopes WHERE inbox = ?",
                                     (address,)).fetchall()
            eligible = tuple(p for p, ok in scopes if ok and p.lower() in known)
            inboxes[address.lower()] = Inbox(address, eligible, default, has_scopes=bool(scopes))
        return inboxes

    # -- persistence ------------------------------------------------------------------

    def record(self, message: InboundMessage, decision: Decision, at: datetime | None = None) -> Decision:
        """Store the message and apply the decision; fills ``decision.conversation``.

        ``at`` is when the mail arrived (default now): a conversation it opens counts from
        then for the flood guard. A mail another process stored since it was routed (same
        Message-ID and content) turns the decision into a duplicate of that one.
        """
        if decision.action == act.DUPLICATE:
            return decision
        try:
            return retrying(self._record, message, decision, at)
        except sqlite3.IntegrityError:  # _record put decision.conversation back as it was
            original = self.db.execute("SELECT conversation_id FROM messages WHERE message_id = ? AND digest = ?",
                                       (message.message_id, message.content_digest)).fetchone()
            if original is None:
                raise
            decision.action = decision.rule = act.DUPLICATE
            decision.conversation = None if original[0] is None else str(original[0])
            decision.evidence = (f"Message-ID <{message.message_id}> was stored by another run while this"
                                 " one routed it (same content)")
            return decision

    def _record(self, message: InboundMessage, decision: Decision, at: datetime | None) -> Decision:
        opened = decision.conversation
        try:
            with self._transaction():
                if decision.action in (act.NEW, act.OUTBOUND) and decision.conversation is None:
                    opener = (decision.submitted_by or message.from_addr) if decision.action == act.NEW else None
                    decision.conversation = self.create_conversation(message.subject, decision.project,
                                                                     opened_by=opener, opened_at=at)
                conversation = decision.conversation
                direction = "outbound" if decision.action == act.OUTBOUND else "inbound"
                if decision.participants is None:  # not routed here (a seed, a written reply)
                    review_participants(decision, message, self, self.cc_blocklist(), _authenticity(decision))
                cursor = self.db.execute(
                    "INSERT INTO messages (message_id, conversation_id, direction, action, rule, evidence,"
                    " decision, subject, from_addr, sent_date, raw, stored_at, digest)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (message.message_id, conversation, direction, decision.action, decision.rule,
                     decision.evidence, json.dumps(decision.as_dict()), message.subject,
                     message.from_addr, message.date, message.raw, _now(), message.content_digest))
                row = cursor.lastrowid
                if conversation is not None:
                    self._remember_thread_root(message, conversation)
                    self._audit(conversation, row, decision.action, f"{decision.rule}: {decision.evidence}")
                    self._apply_participants(conversation, row, decision)
                elif decision.action == act.QUEUED:
                    self.db.execute("INSERT INTO queue (message) VALUES (?)", (row,))
        except sqlite3.Error:
            decision.conversation = opened  # rolled back: a retry opens it again
            raise
        return decision

    def create_conversation(self, subject: str, project: str | None, thread_root: str | None = None,
                            key: str | None = None, opened_by: str | None = None,
                            opened_at: datetime | None = None) -> str:
        """A new conversation with a freshly minted key (or ``key``, for imports and tests).

        ``opened_by``: the sender whose mail opened it (counted by the flood guard).
        """
        cursor = self.db.execute(
            "INSERT INTO conversations (key, project, subject, created_at, opened_by, opened_at)"
            " VALUES (?,?,?,?,?,?)",
            (key or Keyring.mint_key(), project, subject or "(no subject)", _now(), opened_by, _stamp(opened_at)))
        conversation = str(cursor.lastrowid)
        if thread_root:
            self.db.execute("INSERT OR IGNORE INTO thread_roots (root, conversation_id) VALUES (?, ?)",
                            (thread_root, conversation))
        return conversation

    def take_identity(self, conversation: str, key: str | None, thread_root: str | None) -> None:
        """The conversation takes another store's key and thread root (a replay of that store's
        own history: its mail's tokens and Thread-Index roots name it). A key or root another
        conversation holds already stays with that one."""
        with self._transaction():
            if key and self.conversation_by_key(key) is None:
                self.db.execute("UPDATE conversations SET key = ? WHERE id = ?", (key, conversation))
            if thread_root:
                self.db.execute("INSERT OR IGNORE INTO thread_roots (root, conversation_id) VALUES (?, ?)",
                                (thread_root, conversation))

    def _remember_thread_root(self, message: InboundMessage, conversation: str) -> None:
        """Only a thread root (exactly 22 bytes) names a thread; replies are looked up, not stored."""
        index = decode_thread_index(message.thread_index)
        if index is not None and index.is_root:
            self.db.execute("INSERT OR IGNORE INTO thread_roots (root, conversation_id) VALUES (?, ?)",
                            (index.root, conversation))

    def _apply_participants(self, conversation: str, row: int, decision: Decision) -> None:
        """Apply the decision's participant changes (engine.participants), one audit row each.

        An agent's forward also leaves the forward's audit rows (who created it for whom)."""
        for note in forward_audit_notes(decision.submitted_by, decision.assigned_to):
            self._audit(conversation, row, "forward", note)
        for change in (decision.participants or {}).get("changes", []):
            email, kind, role = change["email"], change["change"], change["role"]
            if kind == JOIN:
                self.db.execute("INSERT INTO participants (conversation_id, email, role) VALUES (?, ?, ?)"
                                " ON CONFLICT (conversation_id, email) DO NOTHING", (conversation, email, role))
            elif kind == CHANGE_ROLE:
                self.db.execute("INSERT INTO participants (conversation_id, email, role) VALUES (?, ?, ?)"
                                " ON CONFLICT (conversation_id, email) DO UPDATE SET role = excluded.role,"
                                " active = 1", (conversation, email, role))
            elif kind in (DEACTIVATE, REACTIVATE):
                self.db.execute("UPDATE participants SET active = ? WHERE conversation_id = ? AND email = ?",
                                (int(kind == REACTIVATE), conversation, email))
            self._audit(conversation, row, "participant", change["reason"])

    def record_auto_reply(self, conversation: str | None, recipient: str, send: bool, reason: str,
                          at: datetime | None = None) -> None:
        """Audit an automatic-reply verdict; one that sends counts for the windows (engine.limits)."""
        retrying(self._record_auto_reply, conversation, recipient, send, reason, at)

    def _record_auto_reply(self, conversation: str | None, recipient: str, send: bool, reason: str,
                           at: datetime | None) -> None:
        with self._transaction():
            if send:
                self.db.execute("INSERT INTO automatic_mails (recipient, conversation_id, sent_at) VALUES (?,?,?)",
                                (recipient, conversation, _stamp(at)))
            if conversation is not None:
                self._audit(conversation, None, "auto_reply",
                            f"{'sent' if send else 'not sent'} to {recipient or '(nobody)'}: {reason}")

    def _audit(self, conversation: str | None, message: int | None, event: str, detail: str) -> None:
        self.db.execute(
            "INSERT INTO audit (conversation_id, message, event, detail, at) VALUES (?,?,?,?,?)",
            (conversation, message, event, detail, _now()))

    def _transaction(self):
        return Transaction(self.db)

    # -- reading back -----------------------------------------------------------------

    def conversation(self, conversation: str, with_text: bool = False) -> dict:
        """One conversation as people read it: subjects (and with ``with_text`` each
        message's text) without threading carriers; the stored raw mail keeps them."""
        row = self.db.execute(
            "SELECT id, key, project, subject, created_at FROM conversations WHERE id = ?",
            (conversation,)).fetchone()
        if row is None:
            raise StoreError(f"no conversation {conversation!r}")
        keys = ("id", "key", "project", "subject", "created_at")
        info = dict(zip(keys, row))
        info["id"] = str(info["id"])
        info["subject"] = strip_carriers(info["subject"]).subject
        info["thread_root"] = (self.db.execute(
            "SELECT root FROM thread_roots WHERE conversation_id = ? LIMIT 1", (row[0],)).fetchone()
            or (None,))[0]
        info["messages"] = []
        for r in self.db.execute(
                "SELECT id, message_id, direction, action, rule, evidence, subject, from_addr,"
                " sent_date, decision, raw FROM messages WHERE conversation_id = ? ORDER BY id", (row[0],)):
            message = dict(zip(("seq", "message_id", "direction", "action", "rule", "evidence",
                                "subject", "from", "date"), r))
            decided = json.loads(r[-2])  # older decisions lack these: public, as they were shown
            message["visibility"] = decided.get("visibility") or "public"
            message["sender_role"] = decided.get("sender_role")
            message["warning"] = decided.get("warning")
            shown = strip_carriers(message["subject"], parse_message(r[-1]).text if with_text else None)
            message["subject"] = shown.subject
            if with_text:
                message["text"] = shown.text
            info["messages"].append(message)
        info["participants"] = [{"email": p.email, "role": p.role, "active": p.active}
                                for p in self.participants(info["id"])]
        info["audit"] = [dict(zip(("event", "detail", "at"), r)) for r in self.db.execute(
            "SELECT event, detail, at FROM audit WHERE conversation_id = ? ORDER BY id", (row[0],))]
        return info

    def conversations(self) -> list[dict]:
        rows = self.db.execute(
            "SELECT c.id, c.project, c.subject, COUNT(m.id) FROM conversations c"
            " LEFT JOIN messages m ON m.conversation_id = c.id GROUP BY c.id ORDER BY c.id").fetchall()
        return [dict(zip(("id", "project", "subject", "messages"), (str(r[0]),) + r[1:]))
                for r in rows]

    def queued(self, status: str = "open") -> list[dict]:
        rows = self.db.execute(
            "SELECT m.id, m.message_id, m.from_addr, m.subject, m.evidence, q.status, m.decision FROM queue q"
            " JOIN messages m ON m.id = q.message WHERE q.status = ? ORDER BY m.id", (status,))
        keys = ("seq", "message_id", "from", "subject", "evidence", "status")
        return [dict(zip(keys, r), attribution=json.loads(r[-1]).get("attribution")) for r in rows]

    def thread_state(self, conversation: str) -> dict:
        """What an outgoing reply needs: key, subject, last Message-ID, References, thread root,
        and its customers (the requester for To, the active CCs for Cc). In-Reply-To and
        References name only messages the customers could see (never a private one's id)."""
        info = self.conversation(conversation)
        ids = [m["message_id"] for m in info["messages"] if m["message_id"] and m.get("visibility") != "private"]
        customers = reply_recipients(self.participants(info["id"]), self.cc_blocklist())
        return {"key": info["key"], "subject": info["subject"], "thread_root": info["thread_root"],
                "in_reply_to": ids[-1] if ids else None, "references": tuple(ids),
                "requester": customers.to[0] if customers.to else None, "cc": customers.cc}

    def ensure_thread_root(self, conversation: str, root: str) -> str:
        """The conversation's Outlook thread root, registering ``root`` when it has none."""
        self.db.execute("INSERT OR IGNORE INTO thread_roots (root, conversation_id)"
                        " SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM thread_roots WHERE conversation_id = ?)",
                        (root, conversation, conversation))
        return self.db.execute("SELECT root FROM thread_roots WHERE conversation_id = ? ORDER BY rowid LIMIT 1",
                               (conversation,)).fetchone()[0]

    # -- manual queue -----------------------------------------------------------------

    def _queued_row(self, ref: str) -> int:
        ref = ref.strip().strip("<>")
        row = self.db.execute(
            "SELECT m.id FROM messages m JOIN queue q ON q.message = m.id"
            " WHERE (m.message_id = ? OR m.id = ?) AND q.status = 'open'",
            (ref, int(ref) if ref.isdigit() and len(ref) < 19 else -1)).fetchone()  # SQLite: 64-bit
        if row is None:
            raise StoreError(f"no open queued message {ref!r} (see `queue`)")
        return row[0]

    def attach_queued(self, ref: str, conversation: str) -> str:
        """Attach a queued message to an existing conversation (a reviewer's decision)."""
        self.conversation(conversation)  # raises for an unknown conversation
        row = self._queued_row(ref)
        with self._transaction():
            self._adopt(row, conversation, "queue_attach", "a reviewer attached it", opens=False)
            self.db.execute("UPDATE queue SET status = 'attached', resolution = ?, resolved_at = ?"
                            " WHERE message = ?", (f"attached to {conversation}", _now(), row))
            self._audit(conversation, row, "queue_attach", f"queued message {row} attached by reviewer")
        return conversation

    def new_from_queued(self, ref: str, project: str | None = None) -> str:
        """Open a new conversation from a queued message, optionally in a project."""
        row = self._queued_row(ref)
        if project is not None and self.project_by_prefix(project) is None:
            raise StoreError(f"no project with prefix {project!r}")
        if project is not None:
            project = self.project_by_prefix(project).name
        subject = self.db.execute("SELECT subject FROM messages WHERE id = ?", (row,)).fetchone()[0]
        with self._transaction():
            conversation = self.create_conversation(subject, project)
            self._adopt(row, conversation, "queue_new", "a reviewer opened a conversation for it", opens=True)
            self.db.execute("UPDATE queue SET status = 'new', resolution = ?, resolved_at = ?"
                            " WHERE message = ?", (f"opened conversation {conversation}", _now(), row))
            self._audit(conversation, row, "queue_new", f"queued message {row} opened by reviewer"
                        + (f" in project {project}" if project else ""))
        return conversation


    def _adopt(self, row: int, conversation: str, rule: str, why: str, opens: bool) -> None:
        """Move a queued message into a conversation, as record() would have on arrival.

        The decision stored with the queued message keeps its forward attribution, so the
        original sender and the forwarding agent join as they would have on arrival; who the
        sender is and who may read it are decided again against the conversation it joins.
        """
        raw, stored = self.db.execute("SELECT raw, decision FROM messages WHERE id = ?", (row,)).fetchone()
        message = parse_message(raw)
        queued = Decision.from_dict(json.loads(stored))
        queued.action, queued.conversation, queued.participants = (act.NEW if opens else act.THREADED), conversation, None
        review_participants(queued, message, self, self.cc_blocklist(), _authenticity(queued))
        queued.action, queued.rule, queued.evidence = act.QUEUED, rule, f"{why} (queued: {queued.evidence})"
        self.db.execute("UPDATE messages SET conversation_id = ?, rule = ?, evidence = ?, decision = ? WHERE id = ?",
                        (conversation, rule, queued.evidence, json.dumps(queued.as_dict()), row))
        self._remember_thread_root(message, conversation)
        self._apply_participants(conversation, row, queued)


def _authenticity(decision: Decision) -> Authenticity:
    """The verdict a routing decision recorded (a decision made elsewhere has none)."""
    return Authenticity(**decision.authenticity) if decision.authenticity else NOT_CONFIGURED
