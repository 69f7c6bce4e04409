"""One contract for every Lookup implementation (SQLite store, Frappe adapter).

``check_lookup_contract(seeder, lookup)`` seeds data through ``seeder`` and asserts what the
engine relies on. Both test suites call it, so the two stores cannot drift apart.
"""

from __future__ import annotations

import uuid
from typing import Protocol


class Seeder(Protocol):
    def conversation(self, key: str) -> str: ...
    def message(self, message_id: str, conversation: str | None) -> None: ...
    def thread_root(self, root: str, conversation: str) -> None: ...
    def project(self, prefix: str) -> str: ...
    def inbox(self, address: str, scopes: list[tuple[str, bool]], default_project: str | None) -> None: ...
    def user(self, email: str, active: bool) -> None: ...  # create, or update when it exists


def check_lookup_contract(seed: Seeder, lookup) -> None:
    tag = uuid.uuid4().hex[:8]
    key = ("K" + tag + "XX")[:11]
    first = seed.conversation(key)
    second = seed.conversation(("L" + tag + "YY")[:11])
    assert lookup.conversation_by_key(key) == first
    assert lookup.conversation_by_key("Zz" + tag + "q") is None

    older, newer, queued = f"old-{tag}@x", f"new-{tag}@x", f"q-{tag}@x"
    seed.message(older, first)
    seed.message(newer, second)
    seed.message(queued, None)
    found = lookup.messages_by_ids([older, newer, f"none-{tag}@x"])
    assert [m.message_id for m in found] == [newer, older], "newest stored first"
    assert [m.conversation for m in found] == [second, first]
    assert lookup.messages_by_ids([queued])[0].conversation is None
    assert lookup.messages_by_ids([]) == []

    root = uuid.uuid4().hex + uuid.uuid4().hex[:12]
    seed.thread_root(root, first)
    assert lookup.conversation_by_thread_root(root) == first
    assert lookup.conversation_by_thread_root("0" * 44) is None

    prefix = "Pc" + tag
    project = seed.project(prefix)
    assert lookup.project_by_prefix(prefix.upper()).name == project, "prefix is case-insensitive"
    assert lookup.project_by_prefix("Nope" + tag) is None

    other = seed.project("Po" + tag)
    address = f"inbox-{tag}@help.example"
    seed.inbox(address, [(project, True), (other, False)], project)
    inbox = lookup.inbox(address.upper())
    assert inbox.scopes == (project,) and inbox.has_scopes and inbox.default_project == project
    plain = f"plain-{tag}@help.example"
    seed.inbox(plain, [], None)
    assert lookup.inbox(plain).scopes == () and not lookup.inbox(plain).has_scopes
    assert lookup.inbox(f"unknown-{tag}@help.example") is None

    # Fixed addresses, seeded as create-or-update: stores may throttle creating users.
    seed.user("contract-agent@help.example", True)
    seed.user("contract-gone@help.example", False)
    assert lookup.is_active_user("contract-agent@help.example")
    assert not lookup.is_active_user("contract-gone@help.example")
    assert not lookup.is_active_user(f"stranger-{tag}@help.example")
