"""What several background workers need to process mail side by side.

- One mail at a time per Message-ID, site-wide: the same customer mail delivered to two of
  our inboxes and pulled by two workers at the same moment is routed by one, then found a
  duplicate by the other (one conversation), never two tickets. A MariaDB named lock, held
  until the transaction that stores the mail commits or rolls back.
- A lock wait timeout or a deadlock is the database asking for a retry: the mail's
  transaction is rolled back and run again, a few times, before it counts as a failure.
"""

from __future__ import annotations

import hashlib
import random
import time

import frappe
import pymysql

LOCK_WAIT_SECONDS = 30
RETRIES = 5


class MessageLockTimeout(frappe.QueryTimeoutError):
	"""Another worker held this Message-ID's lock too long (transient: retried)."""


def lock_message(message_id: str) -> None:
	"""Hold the Message-ID's lock until this transaction ends."""
	name = message_lock(message_id)
	hold(name, frappe.db.sql("select get_lock(%s, %s)", (name, LOCK_WAIT_SECONDS))[0][0], message_id)


def message_lock(message_id: str) -> str:
	"""The name of the Message-ID's lock (its GET_LOCK may ride on another statement: the
	journal's cross-off takes it in the same round trip)."""
	return "pt-mail-" + hashlib.sha1(message_id.encode("utf-8", "surrogateescape")).hexdigest()


def hold(name: str, got, message_id: str) -> None:
	"""GET_LOCK answered ``got``: held until the transaction ends, or MessageLockTimeout."""
	if got != 1:
		raise MessageLockTimeout(f"Message-ID <{message_id}> is being stored by another worker")

	def release():
		frappe.db.sql("select release_lock(%s)", (name,))

	frappe.db.after_commit.add(release)
	frappe.db.after_rollback.add(release)


def is_transient(exc: BaseException) -> bool:
	if isinstance(exc, frappe.QueryDeadlockError | frappe.QueryTimeoutError):
		return True
	db = getattr(frappe, "db", None)
	return bool(db and isinstance(exc, Exception) and getattr(exc, "args", None)
				and (db.is_deadlocked(exc) or db.is_timedout(exc)))


def is_transient_or_outage(exc: BaseException) -> bool:
	"""A failure that says nothing about the mail: a busy database, or one that is away or
	full (MariaDB's operational and interface errors). What a mail's content causes is a
	DataError, an IntegrityError or one of Frappe's validation errors."""
	return is_transient(exc) or isinstance(exc, pymysql.err.OperationalError | pymysql.err.InterfaceError)


def retrying(run, reset):
	"""run() in the current transaction; on a deadlock or lock timeout roll back, reset()
	what run() cached, and run again (at most RETRIES times in all)."""
	for attempt in range(1, RETRIES + 1):
		try:
			return run()
		except Exception as exc:
			if attempt == RETRIES or not is_transient(exc):
				raise
			frappe.db.rollback()
			reset()
			time.sleep(random.uniform(0.05, 0.2) * attempt)  # apart, so they do not collide again
