"""The shared Lookup contract, against the SQLite store (the bench runs it against Frappe)."""

from persona_threading.engine import decision as act
from persona_threading.engine.decision import Decision
from persona_threading.engine.message import parse_message
from persona_threading.lookup_contract import (check_count_contract, check_lookup_contract,
                                               check_participants_contract, check_trust_contract)
from persona_threading.store.sqlite import InboxConfig, ProjectConfig, SqliteStore, UserConfig


class SqliteSeeder:
    def __init__(self, store: SqliteStore):
        self.store = store
        self.projects, self.inboxes, self.users = [], [], []

    def conversation(self, key):
        return self.store.create_conversation("s", None, key=key)

    def message(self, message_id, conversation):
        raw = f"Message-ID: <{message_id}>\nFrom: a@b.example\n\nx".encode()
        action = act.THREADED if conversation else act.QUEUED
        self.store.record(parse_message(raw), Decision(message_id, action, "seed", "", conversation=conversation))

    def thread_root(self, root, conversation):
        self.store.ensure_thread_root(conversation, root)

    def project(self, prefix, accepts_inbound=True):
        self.projects.append(ProjectConfig(prefix, accepts_inbound=accepts_inbound))
        self._apply()
        return prefix

    def participant(self, conversation, email, role, active=True):
        self.store.db.execute("INSERT INTO participants (conversation_id, email, role, active) VALUES (?, ?, ?, ?)",
                              (conversation, email, role, int(active)))

    def stored_mail(self, raw, conversation):
        message = parse_message(raw)
        action = act.THREADED if conversation else act.QUEUED
        self.store.record(message, Decision(message.message_id, action, "seed", "", conversation=conversation))

    def inbox(self, address, scopes, default_project):
        self.inboxes.append(InboxConfig(address, tuple(p for p, eligible in scopes if eligible), default_project,
                                        paused_projects=tuple(p for p, eligible in scopes if not eligible)))
        self._apply()

    def user(self, email, active):
        self.users.append(UserConfig(email, active))
        self._apply()

    def light_agent(self, email):
        self.users.append(UserConfig(email, True, light_agent=True))
        self._apply()

    def opened_conversation(self, sender, at):
        return self.store.create_conversation("s", None, opened_by=sender, opened_at=at)

    def automatic_mail(self, recipient, conversation, at):
        self.store.record_auto_reply(conversation, recipient, True, "seed", at)

    def _apply(self):
        self.store.apply_config(self.projects, self.inboxes, self.users)


def test_sqlite_store_honours_the_lookup_contract():
    store = SqliteStore(":memory:")
    check_lookup_contract(SqliteSeeder(store), store)


def test_sqlite_store_honours_the_count_contract():
    store = SqliteStore(":memory:")
    check_count_contract(SqliteSeeder(store), store)


def test_sqlite_store_honours_the_trust_contract():
    store = SqliteStore(":memory:")
    check_trust_contract(SqliteSeeder(store), store)


def test_sqlite_store_honours_the_participants_contract():
    store = SqliteStore(":memory:")
    check_participants_contract(SqliteSeeder(store), store)


def test_the_counts_use_their_indexes():
    """The flood guard and window counts, participant roles and Message-IDs stay cheap with
    history: each is an index lookup or range."""
    store = SqliteStore(":memory:")
    plans = {
        "conversations_by_opener": "SELECT COUNT(*) FROM conversations WHERE opened_by = ? AND opened_at >= ?",
        "automatic_mails_by_recipient": "SELECT COUNT(*) FROM automatic_mails WHERE recipient = ? AND sent_at >= ?",
        "automatic_mails_by_conversation":
            "SELECT COUNT(*) FROM automatic_mails WHERE conversation_id = ? AND sent_at >= ?",
    }
    plans["sqlite_autoindex_participants_1"] = \
        "SELECT role FROM participants WHERE conversation_id = ? AND email = ? AND active = 1"
    plans["sqlite_autoindex_participants_1 (conversation_id=?)"] = \
        "SELECT email, role, active FROM participants WHERE conversation_id = ? ORDER BY rowid"
    plans["messages_by_id_and_digest"] = "SELECT conversation_id FROM messages WHERE message_id = ?"
    for index, query in plans.items():
        params = ("x",) * query.count("?")
        plan = " ".join(row[-1] for row in store.db.execute("EXPLAIN QUERY PLAN " + query, params))
        assert index in plan, plan
