"""The embedded store: the engine's Lookup plus persistence, on stdlib sqlite3.

This module is the ONLY place the CLI persists anything. Every lookup the chain makes is an
equality lookup on an indexed column, so routing cost does not grow with history.
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
from ..engine.lookup import Inbox, Project, StoredMessage
from ..engine.message import InboundMessage, parse_message
from ..engine.thread_index import decode_thread_index

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS projects (
    prefix TEXT PRIMARY KEY COLLATE NOCASE, title TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS inboxes (
    address TEXT PRIMARY KEY COLLATE NOCASE, default_project TEXT);
CREATE TABLE IF NOT EXISTS inbox_scopes (
    inbox TEXT NOT NULL COLLATE NOCASE, project TEXT NOT NULL COLLATE NOCASE,
    eligible INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (inbox, project));
CREATE TABLE IF NOT EXISTS users (email TEXT PRIMARY KEY COLLATE NOCASE, active INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, project TEXT, subject TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open', created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS thread_roots (
    root TEXT PRIMARY KEY, conversation_id INTEGER NOT NULL REFERENCES conversations(id));
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY, message_id TEXT UNIQUE, conversation_id INTEGER REFERENCES conversations(id),
    direction TEXT NOT NULL, action TEXT NOT NULL, rule TEXT NOT NULL, evidence TEXT NOT NULL,
    decision TEXT NOT NULL, subject TEXT NOT NULL, from_addr TEXT NOT NULL, sent_date TEXT,
    raw BLOB NOT NULL, stored_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation_id, id);
CREATE TABLE IF NOT EXISTS participants (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id), email TEXT NOT NULL COLLATE NOCASE,
    role TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (conversation_id, email));
CREATE TABLE IF NOT EXISTS queue (
    message INTEGER PRIMARY KEY REFERENCES messages(id), status TEXT NOT NULL DEFAULT 'open',
    resolution TEXT, resolved_at TEXT);
CREATE INDEX IF NOT EXISTS queue_by_status ON queue (status, message);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, conversation_id INTEGER, message INTEGER, event TEXT NOT NULL,
    detail TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_conversation ON audit (conversation_id, id);
"""


class StoreError(Exception):
    """A request the store cannot satisfy (unknown conversation or message)."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ProjectConfig:
    prefix: str
    title: str = ""


@dataclass(frozen=True)
class InboxConfig:
    address: str
    projects: tuple[str, ...] = ()
    default_project: str | None = None


@dataclass(frozen=True)
class UserConfig:
    email: str
    active: bool = True


class SqliteStore:
    """Lookup + persistence over one SQLite file (``:memory:`` for tests)."""

    def __init__(self, path: str = ":memory:"):
        try:
            self.db = sqlite3.connect(path, isolation_level=None)
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open store {path}: {exc}") from exc
        self.db.execute("PRAGMA foreign_keys = ON")
        if path != ":memory:":
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
        self._inboxes: dict[str, Inbox] | None = None

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
        if not configured and not stored:
            stored = generate_secret()
            self.db.execute("INSERT INTO meta (name, value) VALUES ('secret', ?)", (stored,))
        return Keyring(*dict.fromkeys(s for s in (configured, stored) if s))

    def apply_config(self, projects: Iterable[ProjectConfig], inboxes: Iterable[InboxConfig],
                     users: Iterable[UserConfig]) -> None:
        """Replace projects, inboxes and users with the given configuration."""
        with self._transaction():
            for table in ("inbox_scopes", "inboxes", "projects", "users"):
                self.db.execute(f"DELETE FROM {table}")
            self.db.executemany("INSERT INTO projects (prefix, title) VALUES (?, ?)",
                                [(p.prefix, p.title) for p in projects])
            for inbox in inboxes:
                self.db.execute("INSERT INTO inboxes (address, default_project) VALUES (?, ?)",
                                (inbox.address, inbox.default_project))
                self.db.executemany("INSERT INTO inbox_scopes (inbox, project) VALUES (?, ?)",
                                    [(inbox.address, p) for p in inbox.projects])
            self.db.executemany("INSERT INTO users (email, active) VALUES (?, ?)",
                                [(u.email, int(u.active)) for u in users])
        self._inboxes = None

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
            f"SELECT message_id, conversation_id, id FROM messages WHERE message_id IN ({marks}) "
            "ORDER BY id DESC", ids).fetchall()
        return [StoredMessage(mid, None if conv is None else str(conv), seq) for mid, conv, seq in rows]

    def conversation_by_thread_root(self, root: str) -> str | None:
        row = self.db.execute("SELECT conversation_id FROM thread_roots WHERE root = ?",
                              (root,)).fetchone()
        return str(row[0]) if row else None

    def project_by_prefix(self, prefix: str) -> Project | None:
        row = self.db.execute("SELECT prefix, title FROM projects WHERE prefix = ?",
                              (prefix,)).fetchone()
        return Project(row[0], row[0], row[1]) if row else None

    def inbox(self, address: str) -> Inbox | None:
        if self._inboxes is None:
            self._inboxes = self._load_inboxes()
        return self._inboxes.get(address.lower())

    def is_active_user(self, address: str) -> bool:
        row = self.db.execute("SELECT active FROM users WHERE email = ?", (address,)).fetchone()
        return bool(row and row[0])

    def _load_inboxes(self) -> dict[str, Inbox]:
        """Inboxes are a handful of config rows: read once per process, not per message."""
        known = {row[0].lower() for row in self.db.execute("SELECT prefix FROM projects")}
        inboxes = {}
        for address, default in self.db.execute("SELECT address, default_project FROM inboxes"):
            scopes = [p for (p,) in self.db.execute(
                "SELECT project FROM inbox_scopes WHERE inbox = ? AND eligible = 1", (address,))]
            eligible = tuple(p for p in scopes if p.lower() in known)
            inboxes[address.lower()] = Inbox(address, eligible, default, has_scopes=bool(scopes))
        return inboxes

    # -- persistence ------------------------------------------------------------------

    def record(self, message: InboundMessage, decision: Decision) -> Decision:
        """Store the message and apply the decision; fills ``decision.conversation``."""
        if decision.action == act.DUPLICATE:
            return decision
        with self._transaction():
            if decision.action in (act.NEW, act.OUTBOUND) and decision.conversation is None:
                decision.conversation = self.create_conversation(message.subject, decision.project)
            conversation = decision.conversation
            direction = "outbound" if decision.action == act.OUTBOUND else "inbound"
            cursor = self.db.execute(
                "INSERT INTO messages (message_id, conversation_id, direction, action, rule, evidence,"
                " decision, subject, from_addr, sent_date, raw, stored_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (message.message_id, conversation, direction, decision.action, decision.rule,
                 decision.evidence, json.dumps(decision.as_dict()), message.subject,
                 message.from_addr, message.date, message.raw, _now()))
            row = cursor.lastrowid
            if conversation is not None:
                self._remember_thread_root(message, conversation)
                self._add_participants(conversation, message, direction)
                self._audit(conversation, row, decision.action, f"{decision.rule}: {decision.evidence}")
            elif decision.action == act.QUEUED:
                self.db.execute("INSERT INTO queue (message) VALUES (?)", (row,))
        return decision

    def create_conversation(self, subject: str, project: str | None,
                            thread_root: str | None = None, key: str | None = None) -> str:
        """A new conversation with a freshly minted key (or ``key``, for imports and tests)."""
        cursor = self.db.execute(
            "INSERT INTO conversations (key, project, subject, created_at) VALUES (?,?,?,?)",
            (key or Keyring.mint_key(), project, subject or "(no subject)", _now()))
        conversation = str(cursor.lastrowid)
        if thread_root:
            self.db.execute("INSERT OR IGNORE INTO thread_roots (root, conversation_id) VALUES (?, ?)",
                            (thread_root, conversation))
        return conversation

    def _remember_thread_root(self, message: InboundMessage, conversation: str) -> None:
        """Only a thread root (exactly 22 bytes) names a thread; replies are looked up, not stored."""
        index = decode_thread_index(message.thread_index)
        if index is not None and index.is_root:
            self.db.execute("INSERT OR IGNORE INTO thread_roots (root, conversation_id) VALUES (?, ?)",
                            (index.root, conversation))

    def _add_participants(self, conversation: str, message: InboundMessage, direction: str) -> None:
        first = self.db.execute("SELECT 1 FROM participants WHERE conversation_id = ?",
                                (conversation,)).fetchone() is None
        people = []
        if direction == "inbound" and message.from_addr:
            people.append((message.from_addr, "requester" if first else "follower"))
        people += [(a.lower(), "cc") for a in message.to + message.cc]
        for email, role in people:
            local, _, domain = email.partition("@")
            if self.inbox(f"{local.split('+', 1)[0]}@{domain}") is not None:
                continue  # our own inboxes are not participants
            self.db.execute(
                "INSERT OR IGNORE INTO participants (conversation_id, email, role) VALUES (?, ?, ?)",
                (conversation, email, role))

    def _audit(self, conversation: str | None, message: int | None, event: str, detail: str) -> None:
        self.db.execute(
            "INSERT INTO audit (conversation_id, message, event, detail, at) VALUES (?,?,?,?,?)",
            (conversation, message, event, detail, _now()))

    def _transaction(self):
        return _Transaction(self.db)

    # -- reading back -----------------------------------------------------------------

    def conversation(self, conversation: str) -> dict:
        row = self.db.execute(
            "SELECT id, key, project, subject, status, created_at FROM conversations WHERE id = ?",
            (conversation,)).fetchone()
        if row is None:
            raise StoreError(f"no conversation {conversation!r}")
        keys = ("id", "key", "project", "subject", "status", "created_at")
        info = dict(zip(keys, row))
        info["id"] = str(info["id"])
        info["thread_root"] = (self.db.execute(
            "SELECT root FROM thread_roots WHERE conversation_id = ? LIMIT 1", (row[0],)).fetchone()
            or (None,))[0]
        info["messages"] = [
            dict(zip(("seq", "message_id", "direction", "action", "rule", "evidence", "subject",
                      "from", "date"), r))
            for r in self.db.execute(
                "SELECT id, message_id, direction, action, rule, evidence, subject, from_addr,"
                " sent_date FROM messages WHERE conversation_id = ? ORDER BY id", (row[0],))]
        info["participants"] = [
            dict(zip(("email", "role", "active"), r)) for r in self.db.execute(
                "SELECT email, role, active FROM participants WHERE conversation_id = ?"
                " ORDER BY rowid", (row[0],))]
        info["audit"] = [dict(zip(("event", "detail", "at"), r)) for r in self.db.execute(
            "SELECT event, detail, at FROM audit WHERE conversation_id = ? ORDER BY id", (row[0],))]
        return info

    def conversations(self) -> list[dict]:
        rows = self.db.execute(
            "SELECT c.id, c.project, c.status, c.subject, COUNT(m.id) FROM conversations c"
            " LEFT JOIN messages m ON m.conversation_id = c.id GROUP BY c.id ORDER BY c.id").fetchall()
        return [dict(zip(("id", "project", "status", "subject", "messages"), (str(r[0]),) + r[1:]))
                for r in rows]

    def queued(self, status: str = "open") -> list[dict]:
        rows = self.db.execute(
            "SELECT m.id, m.message_id, m.from_addr, m.subject, m.evidence, q.status FROM queue q"
            " JOIN messages m ON m.id = q.message WHERE q.status = ? ORDER BY m.id", (status,))
        return [dict(zip(("seq", "message_id", "from", "subject", "evidence", "status"), r))
                for r in rows]

    def thread_state(self, conversation: str) -> dict:
        """What an outgoing reply needs: key, subject, last Message-ID, References, thread root."""
        info = self.conversation(conversation)
        ids = [m["message_id"] for m in info["messages"] if m["message_id"]]
        requesters = [p["email"] for p in info["participants"] if p["role"] == "requester"]
        return {"key": info["key"], "subject": info["subject"], "thread_root": info["thread_root"],
                "in_reply_to": ids[-1] if ids else None, "references": tuple(ids),
                "requester": requesters[0] if requesters else None}

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
            self._adopt(row, conversation, "queue_attach", "a reviewer attached it")
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
            self._adopt(row, conversation, "queue_new", "a reviewer opened a conversation for it")
            self.db.execute("UPDATE queue SET status = 'new', resolution = ?, resolved_at = ?"
                            " WHERE message = ?", (f"opened conversation {conversation}", _now(), row))
            self._audit(conversation, row, "queue_new", f"queued message {row} opened by reviewer"
                        + (f" in project {project}" if project else ""))
        return conversation


    def _adopt(self, row: int, conversation: str, rule: str, why: str) -> None:
        """Move a queued message into a conversation, as record() would have on arrival."""
        raw = self.db.execute("SELECT raw FROM messages WHERE id = ?", (row,)).fetchone()[0]
        message = parse_message(raw)
        self.db.execute("UPDATE messages SET conversation_id = ?, rule = ?,"
                        " evidence = ? || ' (queued: ' || evidence || ')' WHERE id = ?",
                        (conversation, rule, why, row))
        self._remember_thread_root(message, conversation)
        self._add_participants(conversation, message, "inbound")


class _Transaction:
    """BEGIN/COMMIT around a block, ROLLBACK on error; nests by joining the outer one."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.outer = False

    def __enter__(self):
        self.outer = not self.db.in_transaction
        if self.outer:
            self.db.execute("BEGIN")
        return self

    def __exit__(self, exc_type, *_):
        if self.outer:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        return False
