"""Shared fixtures: a configured store seeded with two conversations A and B.

Stored in arrival order: orig-a, agent-a1 (conversation A), orig-b, agent-b1 (B). The
fixture .eml files carry tokens minted for A and B under ``SECRET``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from persona_threading.engine import decision as act
from persona_threading.engine.carriers import Keyring
from persona_threading.engine.decision import Decision
from persona_threading.engine.message import parse_message
from persona_threading.engine.router import route
from persona_threading.store.sqlite import InboxConfig, ProjectConfig, SqliteStore, UserConfig

FIXTURES = Path(__file__).parent / "fixtures"
CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
SECRET = "persona-test-secret"
KEY_A, KEY_B = "ConvAAAAAAA", "ConvBBBBBBB"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class World:
    """A store plus the conversations the fixtures refer to, and a way to deliver mail."""

    def __init__(self, store: SqliteStore):
        self.store = store
        self.keyring = Keyring(SECRET)
        self.a = self.seed(KEY_A, "Printer on floor 3 is broken", "ACME",
                           "original_a.eml", "agent_reply_a.eml")
        self.b = self.seed(KEY_B, "Invoice 1042 wrong VAT", "BETA",
                           "original_b.eml", "agent_reply_b.eml")

    def seed(self, key, subject, project, *names):
        conversation = self.store.create_conversation(subject, project, key=key)
        for name in names:
            message = parse_message(fixture_bytes(name))
            self.store.record(message, Decision(message.message_id, act.THREADED, "seed", "seed",
                                                conversation=conversation))
        return conversation

    def decide(self, raw_or_name, exhaustive=False) -> Decision:
        """Route without storing."""
        raw = fixture_bytes(raw_or_name) if isinstance(raw_or_name, str) else raw_or_name
        return route(parse_message(raw), self.store, self.keyring, exhaustive=exhaustive)

    def deliver(self, raw_or_name) -> Decision:
        """Route and store, as a fetch from the mailbox would."""
        raw = fixture_bytes(raw_or_name) if isinstance(raw_or_name, str) else raw_or_name
        message = parse_message(raw)
        return self.store.record(message, route(message, self.store, self.keyring))


def configure(store: SqliteStore, support_default: str | None = None) -> None:
    store.apply_config(
        [ProjectConfig("ACME", "Acme Corp"), ProjectConfig("BETA", "Beta Ltd")],
        [InboxConfig("acme@help.example", ("ACME",)),
         InboxConfig("support@help.example", ("ACME", "BETA"), support_default),
         InboxConfig("hello@help.example")],
        [UserConfig("agent@help.example", True), UserConfig("former@help.example", False)],
    )


@pytest.fixture
def store():
    s = SqliteStore(":memory:")
    configure(s)
    yield s
    s.close()


@pytest.fixture
def world(store) -> World:
    return World(store)


def attempt(decision: Decision, rule: str):
    """The attempt a rule left in a decision (fails the test when the rule was not tried)."""
    found = [a for a in decision.attempts if a.rule == rule]
    assert found, f"{rule} was not tried: {[a.rule for a in decision.attempts]}"
    return found[0]
