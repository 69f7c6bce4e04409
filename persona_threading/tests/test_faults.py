"""Faults inside Frappe: a database error at each step of storing a mail, a worker killed in
the middle of a batch, lock waits and deadlocks, and several workers pulling at once.

The promise each test checks: nothing half-written stays (no Communication without its
routing record, no routing record without its Communication, no orphan conversation), and
the mail is stored exactly once, at the latest on the next pull.
"""

from __future__ import annotations

import contextlib
import email
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from email.policy import SMTP
from email.utils import formatdate
from unittest.mock import patch

import frappe
import pymysql
from frappe.email.receive import EmailServer
from frappe.model.base_document import BaseDocument
from frappe.tests.utils import FrappeTestCase

from persona_threading.demo.client import new_mail
from persona_threading.engine.message import parse_message
from persona_threading.frappe_adapter import concurrency, journal, timeline
from persona_threading.frappe_adapter.lookup import FrappeLookup

from .helpers import INBOX_ADDRESS, receive, support_inbox, unique_customer

SECOND_INBOX, SECOND_ADDRESS = "_PT Sales", "sales@pt-test.example"


def injected_db_error():
	return pymysql.err.OperationalError(1021, "Disk full (injected by the test)")


@contextlib.contextmanager
def failing_insert(doctype: str, error: Exception, times: int = 1):
	"""The next ``times`` inserts of ``doctype`` raise ``error``; yields the list of failures."""
	original = BaseDocument.db_insert
	fired = []

	def db_insert(self, *args, **kwargs):
		if self.doctype == doctype and len(fired) < times:
			fired.append(doctype)
			raise error
		return original(self, *args, **kwargs)

	with patch.object(BaseDocument, "db_insert", db_insert):
		yield fired


@contextlib.contextmanager
def failing_lookup(error: Exception):
	"""The engine's first Message-ID lookup (before anything is written) raises ``error``."""
	original = FrappeLookup.messages_by_ids
	fired = []

	def messages_by_ids(self, ids):
		if not fired:
			fired.append("lookup")
			raise error
		return original(self, ids)

	with patch.object(FrappeLookup, "messages_by_ids", messages_by_ids):
		yield fired


def stored(raw: bytes) -> dict:
	"""What the site holds for one mail: Communications, routing records, journal entries."""
	message_id = parse_message(raw).message_id
	communications = frappe.get_all("Communication", filters={"message_id": message_id},
									fields=["name", "reference_name"])
	records = frappe.get_all("PT Conversation Message", filters={"message_id": message_id},
							 fields=["communication", "conversation"])
	return {
		"communications": communications,
		"records": records,
		"journal": frappe.get_all(journal.JOURNAL, filters={"message_id": message_id},
								  fields=["name", "attempts", "last_error", "status"]),
	}


def dated(raw: bytes, date: str) -> bytes:
	mail = email.message_from_bytes(raw, policy=SMTP)
	mail.replace_header("Date", date)
	return mail.as_bytes()


def conversations() -> int:
	return frappe.db.count("PT Conversation")


class FaultCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		support_inbox()
		support_inbox(SECOND_INBOX, SECOND_ADDRESS)
		frappe.db.commit()

	def setUp(self):
		frappe.db.delete(journal.JOURNAL)  # what other tests left would be tried in these pulls
		frappe.db.commit()

	def assert_stored_once(self, raw: bytes) -> str:
		"""One Communication on one Issue, with one routing record pointing at it; no journal."""
		found = stored(raw)
		self.assertEqual(len(found["communications"]), 1, found)
		self.assertEqual(len(found["records"]), 1, found)
		self.assertEqual(found["records"][0].communication, found["communications"][0].name)
		self.assertEqual(found["journal"], [])
		return found["communications"][0].reference_name

	def assert_nothing_written(self, raw: bytes, conversations_before: int, issues_before: int):
		found = stored(raw)
		self.assertEqual(found["communications"], [])
		self.assertEqual(found["records"], [])
		self.assertEqual(conversations(), conversations_before, "an orphan conversation stayed")
		self.assertEqual(frappe.db.count("Issue"), issues_before, "an Issue without its mail stayed")
		self.assertEqual(len(found["journal"]), 1, "the mail must wait in the journal for the next pull")
		self.assertIn("injected by the test", found["journal"][0].last_error or "")


class TestDatabaseErrorAtEachStep(FaultCase):
	STEPS = (
		("routing lookup, before anything is written", lambda: failing_lookup(injected_db_error())),
		("Issue insert", lambda: failing_insert("Issue", injected_db_error())),
		("Communication insert", lambda: failing_insert("Communication", injected_db_error())),
		("conversation write", lambda: failing_insert("PT Conversation", injected_db_error())),
		("routing record, after the Communication insert",
		 lambda: failing_insert("PT Conversation Message", injected_db_error())),
		("participants write", lambda: failing_insert("PT Conversation Follower", injected_db_error())),
	)  # the audit write of a reply: test_a_reply_whose_audit_write_fails_...

	def test_a_new_mail_is_stored_once_on_the_next_pull_whatever_step_failed(self):
		for step, fault in self.STEPS:
			with self.subTest(step=step):
				raw = new_mail(unique_customer(), INBOX_ADDRESS, f"Printer broken {uuid.uuid4().hex[:6]}",
							   "It jams.", Cc=unique_customer())
				before = conversations(), frappe.db.count("Issue")
				with fault() as fired, contextlib.suppress(Exception):
					receive(raw)  # stock's receive() re-raises what failed, after logging it
				self.assertTrue(fired, f"the fault at '{step}' never fired")
				frappe.db.rollback()
				self.assert_nothing_written(raw, *before)
				receive()  # the next pull, with nothing new on the server
				self.assert_stored_once(raw)
				self.assertEqual(conversations(), before[0] + 1)

	def test_a_reply_whose_audit_write_fails_is_threaded_once_on_the_next_pull(self):
		first = new_mail(unique_customer(), INBOX_ADDRESS, "Scanner broken", "E42 again.")
		receive(first)
		issue = self.assert_stored_once(first)
		frappe.db.set_value("Issue", issue, "status", "Replied")  # auto-resume writes an audit row
		frappe.db.commit()
		reply = new_mail(parse_message(first).from_addr, INBOX_ADDRESS, "Re: Scanner broken", "Still E42.",
						 In_Reply_To=f"<{parse_message(first).message_id}>")
		fired = []

		def failing_audit(*args):
			fired.append(args)
			raise injected_db_error()

		with patch.object(timeline, "add_audit_row", failing_audit), contextlib.suppress(Exception):
			receive(reply)
		self.assertTrue(fired)
		frappe.db.rollback()
		self.assertEqual(stored(reply)["communications"], [])
		self.assertEqual(frappe.db.get_value("Issue", issue, "status"), "Replied")
		receive()
		self.assertEqual(self.assert_stored_once(reply), issue)
		self.assertEqual(frappe.db.get_value("Issue", issue, "status"), "Open")

	def test_a_mail_that_always_fails_waits_in_the_journal_after_the_limit(self):
		raw = new_mail(unique_customer(), INBOX_ADDRESS, "Poison", "This one never stores.")
		with failing_insert("Communication", injected_db_error(), times=journal.MAX_ATTEMPTS + 3) as fired:
			for _ in range(journal.MAX_ATTEMPTS + 2):
				with contextlib.suppress(Exception):
					receive(raw)
				frappe.db.rollback()
		self.assertEqual(len(fired), journal.MAX_ATTEMPTS)  # tried once per pull, then left alone
		waiting = stored(raw)["journal"]
		self.assertEqual([(w.attempts, "injected by the test" in w.last_error) for w in waiting],
						 [(journal.MAX_ATTEMPTS, True)])
		self.assertEqual(waiting[0].status, journal.PARKED)
		journal.retry(waiting[0].name)  # the admin's Retry
		frappe.db.commit()
		receive()
		self.assert_stored_once(raw)


class TestLockWaitsAndDeadlocks(FaultCase):
	def test_a_deadlock_on_the_issue_insert_is_retried_in_the_same_pull(self):
		raw = new_mail(unique_customer(), INBOX_ADDRESS, "Deadlocked", "Please help.")
		deadlock = frappe.QueryDeadlockError(pymysql.err.OperationalError(1213, "Deadlock found (injected)"))
		with failing_insert("Issue", deadlock, times=2) as fired:
			receive(raw)
		self.assertEqual(len(fired), 2)
		self.assert_stored_once(raw)

	def test_a_real_lock_wait_timeout_on_the_issue_row_is_retried_not_lost(self):
		first = new_mail(unique_customer(), INBOX_ADDRESS, "Label printer", "Prints nothing.")
		receive(first)
		issue = self.assert_stored_once(first)
		reply = new_mail(parse_message(first).from_addr, INBOX_ADDRESS, "Re: Label printer", "Still nothing.",
						 In_Reply_To=f"<{parse_message(first).message_id}>")
		holder = RowHolder("Issue", issue, seconds=3)
		holder.start()
		holder.locked.wait(30)
		frappe.db.sql("set session innodb_lock_wait_timeout = 2")
		retries, real_sleep = [], time.sleep
		try:
			with patch.object(concurrency.time, "sleep", side_effect=lambda s: (retries.append(s), real_sleep(s))):
				receive(reply)  # the first attempt waits 2 s on the held row, times out, is retried
		finally:
			frappe.db.sql("set session innodb_lock_wait_timeout = 50")
			holder.join()
		self.assertIsNone(holder.error)
		self.assertTrue(retries, "the reply never waited on the held Issue row")
		self.assertEqual(self.assert_stored_once(reply), issue)


	def test_a_mail_another_worker_holds_longer_than_the_lock_wait_is_left_to_it(self):
		"""Two workers took the same journal entry; the one that waits past the database's lock
		wait neither fails its pull nor stores the mail: the holder does (or, should it roll
		back, the next pull)."""
		raw = new_mail(unique_customer(), INBOX_ADDRESS, "Two workers", "Hello.")
		with failing_insert("Communication", injected_db_error(), times=1), contextlib.suppress(Exception):
			receive(raw)  # its entry waits in the journal (the pull reports the failure)
		entry = stored(raw)["journal"][0].name
		holder = RowHolder(journal.JOURNAL, entry, seconds=3)
		holder.start()
		holder.locked.wait(30)
		frappe.db.sql("set session innodb_lock_wait_timeout = 1")
		try:
			self.assertFalse(journal.cross_off(entry))  # waited 1 s, then left it to the holder
		finally:
			frappe.db.sql("set session innodb_lock_wait_timeout = 50")
			holder.join()
		self.assertIsNone(holder.error)
		self.assertEqual(len(stored(raw)["journal"]), 1)  # the holder rolled back: it waits for the next pull
		receive(raw)
		self.assert_stored_once(raw)


class TestKilledWorker(FaultCase):
	def test_the_rest_of_a_batch_is_stored_exactly_once_after_the_worker_is_killed(self):
		mails = [new_mail(unique_customer(), INBOX_ADDRESS, f"Batch mail {i} {uuid.uuid4().hex[:6]}", "Hello.")
				 for i in range(3)]
		with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
			json.dump([m.decode("utf-8", "surrogateescape") for m in mails], handle)
		self.addCleanup(os.unlink, handle.name)
		frappe.db.commit()
		worker = subprocess.run(
			[sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "--site", frappe.local.site, "execute",
			 "persona_threading.tests.test_faults.pull_and_die", "--kwargs", json.dumps({"path": handle.name})],
			cwd=os.path.abspath(frappe.local.sites_path), capture_output=True, text=True, timeout=300)
		self.assertEqual(worker.returncode, -signal.SIGKILL, worker.stdout[-2000:] + worker.stderr[-2000:])
		frappe.db.rollback()  # a fresh snapshot: see what the killed worker committed
		self.assert_stored_once(mails[0])
		for raw in mails[1:]:
			self.assertEqual(stored(raw)["communications"], [])
			self.assertEqual(len(stored(raw)["journal"]), 1)
		receive()  # the next pull: nothing new on the server
		for raw in mails:
			self.assert_stored_once(raw)


def pull_and_die(path: str):
	"""`bench execute` target: pull a batch and SIGKILL this process while the second mail's
	Communication is being written (after the first mail was committed)."""
	with open(path) as handle:
		mails = [m.encode("utf-8", "surrogateescape") for m in json.load(handle)]
	original, inserted = BaseDocument.db_insert, []

	def db_insert(self, *args, **kwargs):
		if self.doctype == "Communication":
			inserted.append(self.name)
			if len(inserted) == 2:
				os.kill(os.getpid(), signal.SIGKILL)
		return original(self, *args, **kwargs)

	with patch.object(BaseDocument, "db_insert", db_insert):
		receive(*mails)


class Worker(threading.Thread):
	"""A background worker: its own site connection, one account's receive()."""

	def __init__(self, site: str, sites_path: str, account: str):
		super().__init__(daemon=True)
		self.site, self.sites_path, self.account, self.error = site, sites_path, account, None

	def run(self):
		frappe.init(site=self.site, sites_path=self.sites_path)
		frappe.connect()
		frappe.flags.in_test = True
		try:
			frappe.set_user("Administrator")
			frappe.get_doc("Email Account", self.account).receive()
		except Exception as exc:
			self.error = exc
			self.trace = frappe.get_traceback()
		finally:
			frappe.db.commit()
			frappe.destroy()


class RowHolder(threading.Thread):
	"""Another connection that holds a row's lock for a while (another worker storing it)."""

	def __init__(self, doctype: str, name: str, seconds: float):
		super().__init__(daemon=True)
		self.doctype, self.name, self.seconds, self.error = doctype, name, seconds, None
		self.site, self.sites_path = frappe.local.site, os.path.abspath(frappe.local.sites_path)
		self.locked = threading.Event()

	def run(self):
		frappe.init(site=self.site, sites_path=self.sites_path)
		frappe.connect()
		try:
			frappe.db.sql(f"select name from `tab{self.doctype}` where name = %s for update", (self.name,))
			self.locked.set()
			frappe.db.sql("select sleep(%s)", (self.seconds,))
		except Exception as exc:
			self.error = exc
		finally:
			self.locked.set()
			frappe.db.rollback()
			frappe.destroy()


@contextlib.contextmanager
def served(batches: dict[str, list[list[bytes]]]):
	"""The mail server: each fetch of an account hands out that account's next batch; every
	fetch waits until all workers have fetched, so they process at the same moment."""
	total = sum(len(b) for b in batches.values())
	barrier, lock = threading.Barrier(total, timeout=60), threading.Lock()
	pending = {account: list(b) for account, b in batches.items()}

	def get_messages(server, folder="INBOX", **kwargs):
		with lock:
			batch = pending[server.settings.email_account].pop(0)
		barrier.wait()
		return {"latest_messages": [m.decode("utf-8", "surrogateescape") for m in batch],
				"seen_status": {}, "uid_list": []}

	with (
		patch.object(EmailServer, "select_imap_folder", return_value=True),
		patch.object(EmailServer, "logout", side_effect=lambda: None),
		patch.object(EmailServer, "get_messages", autospec=True, side_effect=get_messages),
		patch.object(EmailServer, "connect", return_value=True),
	):
		yield


class TestWorkersAtOnce(FaultCase):
	def run_workers(self, accounts: list[str]):
		frappe.db.commit()
		site, sites_path = frappe.local.site, os.path.abspath(frappe.local.sites_path)
		workers = [Worker(site, sites_path, account) for account in accounts]
		for w in workers:
			w.start()
		for w in workers:
			w.join(240)
		frappe.db.rollback()  # see what they committed
		self.assertEqual([w.error for w in workers], [None] * len(workers),
						 "\n".join(getattr(w, "trace", "") for w in workers))

	def test_the_same_account_pulled_by_two_workers_stores_each_mail_once(self):
		mails = [new_mail(unique_customer(), INBOX_ADDRESS, f"Stale lock {i} {uuid.uuid4().hex[:6]}", "Hi.")
				 for i in range(6)]
		account = support_inbox().name
		with served({account: [mails, mails]}):  # both fetch the same mails (a stale scheduler lock)
			self.run_workers([account, account])
		for raw in mails:
			self.assert_stored_once(raw)

	def test_one_mail_delivered_to_two_inboxes_is_one_conversation(self):
		"""The documented outcome: the first worker to store it opens the conversation; the
		other finds the same mail (same Message-ID, sender and Date) and stores nothing."""
		customer = unique_customer()
		raw = new_mail(customer, f"{INBOX_ADDRESS}, {SECOND_ADDRESS}", "Both of you", "Who answers?")
		first, second = support_inbox().name, support_inbox(SECOND_INBOX, SECOND_ADDRESS).name
		before = conversations()
		with served({first: [[raw]], second: [[raw]]}):
			self.run_workers([first, second])
		self.assert_stored_once(raw)
		self.assertEqual(conversations(), before + 1)
		self.assertEqual(frappe.db.count(journal.JOURNAL, {"message_id": parse_message(raw).message_id}), 0)

	def test_two_replies_arriving_together_both_land_on_the_conversation_in_order(self):
		first = dated(new_mail(unique_customer(), INBOX_ADDRESS, "Router down", "No internet."),
					  formatdate(time.time() - 300))
		receive(first)
		issue = self.assert_stored_once(first)
		parent = f"<{parse_message(first).message_id}>"
		sender = parse_message(first).from_addr
		replies = [dated(new_mail(sender, INBOX_ADDRESS, "Re: Router down", text, In_Reply_To=parent), date)
				   for text, date in (("Rebooted it.", formatdate(time.time() - 60)),
									  ("Still down after the reboot.", formatdate(time.time() - 55)))]
		account = support_inbox().name
		with served({account: [[replies[0]], [replies[1]]]}):  # each worker fetches one of them
			self.run_workers([account, account])
		for raw in replies:
			self.assertEqual(self.assert_stored_once(raw), issue)
		# the timeline is in the order they were written (their Date), whichever worker was first
		timeline = frappe.get_all("Communication", filters={"reference_doctype": "Issue", "reference_name": issue},
								  order_by="communication_date asc", pluck="message_id")
		self.assertEqual(timeline, [parse_message(m).message_id for m in (first, *replies)])
