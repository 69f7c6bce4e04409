"""What one pull of an inbox reads once: the keyring, the inbox's scopes, who is an agent.

A pull routes every fetched mail with the same configuration; reading it again for each
mail (and for each address of a mail) was a third of the app's statements per mail. Values
are kept only while a pull runs (``PTEmailAccount.receive``), never across requests, so an
admin's change applies from the next pull; outside a pull every read goes to the database.
What a pull itself changes (followers, conversations, counts) is never kept here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable
from typing import TypeVar

import frappe

T = TypeVar("T")


@contextlib.contextmanager
def pulling():
	"""One pull: reads memoised by ``once`` until it ends (nested pulls share the outer one)."""
	outer = getattr(frappe.local, "pt_pull", None)
	if outer is None:
		frappe.local.pt_pull = {}
	try:
		yield
	finally:
		if outer is None:
			frappe.local.pt_pull = None


def once(key: Hashable, read: Callable[[], T]) -> T:
	"""``read()``, made once per pull for ``key``; every time outside a pull."""
	memo = getattr(frappe.local, "pt_pull", None)
	if memo is None:
		return read()
	if key not in memo:
		memo[key] = read()
	return memo[key]


def remember(key: Hashable, value) -> None:
	"""Keep a value read together with another one (one query for several keys) for the rest
	of the pull, as ``once`` would have read it; nothing outside a pull."""
	memo = getattr(frappe.local, "pt_pull", None)
	if memo is not None:
		memo.setdefault(key, value)


def known(key: Hashable) -> bool:
	"""Whether this pull has read ``key`` already."""
	memo = getattr(frappe.local, "pt_pull", None)
	return memo is not None and key in memo
