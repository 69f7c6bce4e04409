"""The SQLite store's schema, and the upgrade of files written by earlier versions."""

from __future__ import annotations

import sqlite3

from ..engine.participants import CC, REQUESTER, THIRD_PARTY

# A Message-ID is not unique on its own: another mail may reuse it (engine.duplicates); the
# same mail (Message-ID and content digest) is stored once (messages_by_id_and_digest).
MESSAGES_TABLE = """messages (
    id INTEGER PRIMARY KEY, message_id TEXT, conversation_id INTEGER REFERENCES conversations(id),
    direction TEXT NOT NULL, action TEXT NOT NULL, rule TEXT NOT NULL, evidence TEXT NOT NULL,
    decision TEXT NOT NULL, subject TEXT NOT NULL, from_addr TEXT NOT NULL, sent_date TEXT,
    raw BLOB NOT NULL, stored_at TEXT NOT NULL, digest TEXT)"""
MESSAGE_COLUMNS = ("id, message_id, conversation_id, direction, action, rule, evidence, decision, subject,"
                   " from_addr, sent_date, raw, stored_at")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS projects (
    prefix TEXT PRIMARY KEY COLLATE NOCASE, title TEXT NOT NULL DEFAULT '',
    accepts_inbound INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS inboxes (
    address TEXT PRIMARY KEY COLLATE NOCASE, default_project TEXT);
CREATE TABLE IF NOT EXISTS inbox_scopes (
    inbox TEXT NOT NULL COLLATE NOCASE, project TEXT NOT NULL COLLATE NOCASE,
    eligible INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (inbox, project));
CREATE TABLE IF NOT EXISTS users (email TEXT PRIMARY KEY COLLATE NOCASE, active INTEGER NOT NULL,
    light_agent INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, project TEXT, subject TEXT NOT NULL,
    created_at TEXT NOT NULL, opened_by TEXT COLLATE NOCASE, opened_at TEXT);
CREATE TABLE IF NOT EXISTS thread_roots (
    root TEXT PRIMARY KEY, conversation_id INTEGER NOT NULL REFERENCES conversations(id));
CREATE TABLE IF NOT EXISTS {MESSAGES_TABLE};
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
CREATE TABLE IF NOT EXISTS automatic_mails (
    id INTEGER PRIMARY KEY, recipient TEXT NOT NULL COLLATE NOCASE,
    conversation_id INTEGER REFERENCES conversations(id), sent_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS automatic_mails_by_recipient ON automatic_mails (recipient, sent_at);
CREATE INDEX IF NOT EXISTS automatic_mails_by_conversation ON automatic_mails (conversation_id, sent_at);
"""
# Run after SCHEMA and the upgrade of older files (which lack the columns it indexes).
INDEXES = """
CREATE INDEX IF NOT EXISTS conversations_by_opener ON conversations (opened_by, opened_at);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_id_and_digest ON messages (message_id, digest);
"""


def create_or_upgrade(db: sqlite3.Connection) -> None:
    """Create what is missing, upgrade an older file, then index (inside the caller's transaction)."""
    for statement in _statements(SCHEMA):
        db.execute(statement)
    upgrade_old_file(db)
    for statement in _statements(INDEXES):
        db.execute(statement)


def upgrade_old_file(db: sqlite3.Connection) -> None:
    """Files written before issue 8: conversations.status (never set) goes, roles get their names.
    Before issue 10: conversations learn who opened them and when (the flood guard's count).
    Before issue 11: users learn light_agent. Before issue 9: projects learn accepts_inbound; messages lose the unique Message-ID
    (another mail may reuse one) and gain the content digest (see _rebuild_messages)."""
    project_columns = {row[1] for row in db.execute("PRAGMA table_info(projects)")}
    if "light_agent" not in {row[1] for row in db.execute("PRAGMA table_info(users)")}:
        db.execute("ALTER TABLE users ADD COLUMN light_agent INTEGER NOT NULL DEFAULT 0")
    if "accepts_inbound" not in project_columns:
        db.execute("ALTER TABLE projects ADD COLUMN accepts_inbound INTEGER NOT NULL DEFAULT 1")
    if "digest" not in {row[1] for row in db.execute("PRAGMA table_info(messages)")}:
        _rebuild_messages(db)
    columns = {row[1] for row in db.execute("PRAGMA table_info(conversations)")}
    for column in ("opened_by TEXT COLLATE NOCASE", "opened_at TEXT"):
        if column.split()[0] not in columns:
            db.execute(f"ALTER TABLE conversations ADD COLUMN {column}")
    if "status" in columns:
        try:
            db.execute("ALTER TABLE conversations DROP COLUMN status")
        except sqlite3.OperationalError:  # SQLite < 3.35: it stays, unused (it has a default)
            pass
    db.execute("UPDATE participants SET role = CASE role WHEN 'requester' THEN ? WHEN 'cc' THEN ?"
                    " WHEN 'follower' THEN ? END WHERE role IN ('requester', 'cc', 'follower')",
                    (REQUESTER, CC, THIRD_PARTY))

def _rebuild_messages(db: sqlite3.Connection) -> None:
    """SQLite cannot drop a UNIQUE constraint: copy the rows into the new table (the
    documented rebuild; foreign keys are still off while the store opens). Old rows keep
    no digest: their sender and Date tell their re-deliveries (engine.duplicates)."""
    db.execute(f"CREATE TABLE messages_rebuilt {MESSAGES_TABLE.partition(' ')[2]}")
    db.execute(f"INSERT INTO messages_rebuilt ({MESSAGE_COLUMNS}) SELECT {MESSAGE_COLUMNS} FROM messages")
    db.execute("DROP TABLE messages")
    db.execute("ALTER TABLE messages_rebuilt RENAME TO messages")
    db.execute("CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation_id, id)")


def _statements(script: str) -> list[str]:
    """A schema script as single statements (none of ours has a ``;`` inside)."""
    return [statement.strip() for statement in script.split(";") if statement.strip()]
