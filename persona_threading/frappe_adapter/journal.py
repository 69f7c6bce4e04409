"""The inbound journal: a fetched mail is written down before it is processed, and crossed
off in the very transaction that stores it.

Stock loses mail that fails half-way: the IMAP UID has moved on (or the mail was flagged
\\Seen when fetched), so the next pull never sees it again, and a worker killed in the middle
of a batch loses the rest of the batch the same way. Here each pull first commits every
fetched mail to PT Inbound Journal, then processes what the journal holds for the account
(this pull's mail and whatever an earlier pull left), oldest first:

- a mail is crossed off (its row deleted) first thing in the transaction that stores it: a
  second worker pulling the same account at the same time waits on that row, then finds it
  gone once the first has committed, so each mail is processed once (exactly once: the
  deletion and the Communication commit together);
- failure rolls both back; the row stays, with the error, for the next pull; each pull
  counts one attempt and after ``MAX_ATTEMPTS`` the mail is ``Parked``: the System Managers
  are told once (Notification Log) and act on it (Retry, or Open as Issue);
- mail stock refuses on purpose (our own sent mail that is no reply) is ``Skipped``, with
  the reason: never retried, never an alarm.
"""

from __future__ import annotations

import base64
import datetime
import hashlib

import frappe
from frappe.email.receive import InboundMail

from ..engine.message import parse_message
from . import concurrency
from .alerts import tell_system_managers
from .rows import insert_rows
from .statements import placeholder, prepared

JOURNAL = "PT Inbound Journal"
MAX_ATTEMPTS = 5
#: A mail whose last attempt began this long ago and is still waiting lost its worker
#: (longer than any pull job may run).
ABANDONED_AFTER = datetime.timedelta(hours=1)
WAITING, PARKED, SKIPPED = "Waiting", "Parked", "Skipped"
ENTRY_FIELDS = ("name", "owner", "creation", "modified", "modified_by", "email_account", "status", "message_id",
				"uid", "seen_status", "append_to", "raw", "attempts")
RAW = ENTRY_FIELDS.index("raw")
#: Crossing a mail off (once per mail): frappe.qb writes no RETURNING for MariaDB. With its
#: Message-ID's lock (concurrency) taken in the same round trip, only once the entry is its.
_CROSS_OFF = f"delete from `tab{JOURNAL}` where name = %s returning name"
_CROSS_OFF_AND_LOCK = f"delete from `tab{JOURNAL}` where name = %s returning name, get_lock(%s, %s)"


def _raw_bytes(mail: InboundMail) -> bytes:
	raw = mail.raw_message
	return raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape")


def _parsed(mail: InboundMail, raw: bytes):
	"""The engine's parse of the mail, made once and kept for routing (SafeInboundMail)."""
	view = getattr(mail, "engine_view", None)
	return view if view is not None else parse_message(raw)


def entry_name(account: str, raw: bytes) -> str:
	"""The same mail fetched twice into one account has one entry."""
	return hashlib.sha256(account.encode() + b"\0" + raw).hexdigest()[:40]


def take(account, fetched: list[InboundMail], mail_class: type[InboundMail]) -> list[InboundMail]:
	"""Journal this pull's mail (committed), then return everything the journal holds for
	the account that is still to be tried, oldest first, each knowing its entry."""
	return concurrency.retrying(lambda: _take(account, fetched, mail_class), lambda: None)


def _take(account, fetched: list[InboundMail], mail_class: type[InboundMail]) -> list[InboundMail]:
	by_name, entries = {}, []
	now, user = frappe.utils.now_datetime(), frappe.session.user
	for mail in fetched:
		raw = _raw_bytes(mail)
		name = entry_name(account.name, raw)
		if name in by_name:  # the same mail in two folders: one entry
			continue
		by_name[name] = mail
		at = now + datetime.timedelta(microseconds=len(entries))  # processed in the order fetched
		entries.append((name, user, at, at, user, account.name, WAITING, (_parsed(mail, raw).message_id or "")[:140],
						mail.uid, mail.seen_status, mail.append_to, base64.b64encode(raw).decode(), 1))
	for chunk in _chunks(entries):  # each new entry at its first attempt; one already there
		# (fetched again) stays as it is
		insert_rows(JOURNAL, ENTRY_FIELDS, chunk, ignore_duplicates=True)
	# A locking read sees the latest committed rows (what other workers journaled, whatever
	# this transaction's snapshot) and skips the mail another worker is processing right now.
	rows = _waiting(account=account.name, status=WAITING, attempts=MAX_ATTEMPTS)
	inserted = {entry[0]: entry[2] for entry in entries}
	new = {name for name, creation, *_ in rows if inserted.get(name) == creation}  # counted by their insert
	again = [name for name, _, _, attempts in rows if name not in new and attempts < MAX_ATTEMPTS]
	for name, _, last_attempt, attempts in rows:
		if name not in new and attempts >= MAX_ATTEMPTS and last_attempt < now - ABANDONED_AFTER:
			abandoned(name, attempts)
	if again:  # this pull is one more attempt for each entry an earlier pull left
		Journal = frappe.qb.DocType(JOURNAL)
		(frappe.qb.update(Journal).set(Journal.attempts, Journal.attempts + 1).set(Journal.modified, now)
		 .where(Journal.name.isin(again)).run())
	frappe.db.commit()  # durable now, before any mail is processed (one commit per pull)
	mails = []
	for name in [name for name, *_ in rows if name in new or name in again]:
		mail = by_name.get(name) or _rebuild(name, account, mail_class)
		if mail is not None:
			mail.journal_entry = name
			mails.append(mail)
	return mails


@prepared
def _waiting():
	"""The account's entries still to be tried, oldest first; locked, skipping those another
	worker has locked."""
	Journal = frappe.qb.DocType(JOURNAL)
	return (frappe.qb.from_(Journal).select(Journal.name, Journal.creation, Journal.modified, Journal.attempts)
			.where((Journal.email_account == placeholder("account")) & (Journal.status == placeholder("status"))
				   & (Journal.attempts <= placeholder("attempts")))
			.orderby(Journal.creation).orderby(Journal.name).for_update(skip_locked=True))


def _chunks(entries: list[tuple], most_bytes: int = 4 << 20):
	"""The entries in INSERTs of at most ``most_bytes`` of mail each (the server refuses a
	statement over its max_allowed_packet, 16 MiB by default); a larger mail goes alone."""
	chunk, size = [], 0
	for entry in entries:
		if chunk and size + len(entry[RAW]) > most_bytes:
			yield chunk
			chunk, size = [], 0
		chunk.append(entry)
		size += len(entry[RAW])
	if chunk:
		yield chunk


def _rebuild(name: str, account, mail_class: type[InboundMail]) -> InboundMail | None:
	"""A mail an earlier pull left, as stock would have built it from the server."""
	row = frappe.db.get_value(JOURNAL, name, ["raw", "uid", "seen_status", "append_to"], as_dict=True)
	if not row:
		return None
	return mail_class(base64.b64decode(row.raw), account, row.uid or None, row.seen_status or None,
					  row.append_to or None)


def cross_off(name: str, lock_message: str | None = None) -> bool:
	"""Cross the mail off in the transaction that is about to store it; False when it is gone
	already (another worker stored it, or an admin opened it). The DELETE holds the entry's
	row lock until that transaction ends: a second worker on the same entry waits for the
	first and then finds it gone, and a rollback (the mail failed) puts it back. A wait longer
	than the database's lock wait leaves the mail to the worker that has it (and, should that
	one fail, to the next pull). ``lock_message``: the mail's Message-ID, whose lock is then
	taken by the same statement (concurrency.lock_message, MessageLockTimeout)."""
	try:
		if lock_message is None:
			return bool(frappe.db.sql(_CROSS_OFF, (name,)))
		lock = concurrency.message_lock(lock_message)
		rows = frappe.db.sql(_CROSS_OFF_AND_LOCK, (name, lock, concurrency.LOCK_WAIT_SECONDS))
	except frappe.QueryTimeoutError:  # only this statement is undone: the transaction goes on
		return False
	if rows:
		concurrency.hold(lock, rows[0][1], lock_message)
	return bool(rows)


def failed(name: str, error: str) -> None:
	"""Keep why it failed (after the rollback; stock commits right after). At the attempt
	limit the mail is parked and the System Managers are told, once."""
	row = frappe.db.get_value(JOURNAL, name, ["attempts", "notified", "message_id", "email_account"], as_dict=True)
	if not row:
		return
	values = {"last_error": error[-10000:], "error_summary": plain_error(error)}
	parked = row.attempts >= MAX_ATTEMPTS
	if parked:
		values["status"] = PARKED
	if parked and not row.notified:
		values["notified"] = 1
		subject = frappe._("A received mail could not be stored ({0}): {1}").format(row.email_account,
																				 values["error_summary"])
		tell_system_managers(subject, subject, JOURNAL, name)
	frappe.db.set_value(JOURNAL, name, values, update_modified=False)


def abandoned(name: str, attempts: int) -> None:
	"""Every attempt ended with its worker gone (killed, out of memory: nothing could record
	why) and the last began long ago: parked, and the System Managers told, as a mail that
	failed each time is."""
	earlier = frappe.db.get_value(JOURNAL, name, "last_error") or ""
	failed(name, f"{earlier}\n\nThe worker processing this mail stopped before it was stored ({attempts} times: "
				 "killed, or out of memory)".lstrip())


def skipped(name: str, reason: str) -> None:
	"""Not stored on purpose: kept with the reason, never retried."""
	frappe.db.set_value(JOURNAL, name, {"status": SKIPPED, "error_summary": reason[:255]}, update_modified=False)


def retry(name: str) -> None:
	"""An admin's Retry: the next pull tries the mail again, with its attempts anew."""
	frappe.db.set_value(JOURNAL, name, {"status": WAITING, "attempts": 0, "notified": 0})


def entry_mail(name: str) -> tuple[str, bytes, str] | None:
	"""(email account, raw bytes, why it waits) of an entry; None when it is gone."""
	row = frappe.db.get_value(JOURNAL, name, ["email_account", "raw", "error_summary"])
	return (row[0], base64.b64decode(row[1]), row[2] or "parked in the inbound journal") if row else None


#: What the last line of a traceback means, for the list an admin reads.
_PLAIN_ERRORS = (
	("DataError", "The database refused part of this mail"),
	("InvalidEmailAddressError", "An address in this mail is not a valid email address"),
	("QueryDeadlockError", "The database was busy (deadlock); it will be tried again"),
	("QueryTimeoutError", "The database was busy (lock wait); it will be tried again"),
	("OperationalError", "The database could not store it (full, or out of reach)"),
	("LinkValidationError", "The mail names a record that does not exist"),
	("MandatoryError", "A required value is missing"),
	("PermissionError", "Not permitted"),
)


def plain_error(error: str) -> str:
	"""One line in words for a traceback: what happened, then the exception itself."""
	last = next((line.strip() for line in reversed(error.strip().splitlines()) if line.strip()), "")
	words = next((text for name, text in _PLAIN_ERRORS if name in last), "Processing this mail failed")
	return f"{words}: {last}"[:255]
