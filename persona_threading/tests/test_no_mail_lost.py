"""Nothing a customer writes is lost or invisible: real-world mail through the real receive().

Each test pushes mail as a live site gets it (raw bytes from the IMAP server, one pull per
receive()) and checks what a helpdesk would see afterwards: one Communication, on an Issue
or in the queue, the journal empty, no error for the next mail.
"""

from __future__ import annotations

import contextlib
import html
import os
import uuid
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase

from persona_threading.engine.machine_mail import classify
from persona_threading.engine.message import parse_message
from persona_threading.frappe_adapter import api, inbound, jobs, journal, review_queue, store
from persona_threading.fuzz import CORPORA, NOT_MAILS, corpus_mails

from . import receive_fuzz
from .helpers import INBOX_ADDRESS, receive, support_inbox, unique_customer
from .test_faults import failing_insert, injected_db_error

JOURNAL = journal.JOURNAL
AUTO_REPLY_INBOX, AUTO_REPLY_ADDRESS = "_PT Answering", "answering@pt-test.example"


def received(message_id: str) -> list[dict]:
	return frappe.get_all("Communication", {"message_id": message_id, "sent_or_received": "Received"},
						  ["name", "subject", "reference_doctype", "reference_name", "sender", "sender_full_name"])


def queue_rows(communication: str) -> list[dict]:
	return frappe.get_all(review_queue.QUEUE, {"communication": communication}, ["name", "status", "reason", "evidence"])


def raw_mail(*header_lines: bytes, body: bytes = b"Hello, my order did not arrive.\r\n") -> tuple[bytes, str]:
	message_id = f"{uuid.uuid4().hex}@customer.example"
	headers = [b"Message-ID: <" + message_id.encode() + b">", b"To: " + INBOX_ADDRESS.encode(),
			   b"Date: Mon, 07 Dec 2026 09:00:00 +0000", *header_lines]
	return b"\r\n".join(headers) + b"\r\n\r\n" + body, message_id


class WorkerGone(BaseException):
	"""What a killed worker looks like to the pull: nothing after it runs, nothing is caught."""


class LostMailCase(FrappeTestCase):
	def setUp(self):
		frappe.db.set_single_value("PT Settings", "enabled", 1)
		self.account = support_inbox()
		frappe.db.delete(JOURNAL, {"email_account": self.account.name})
		frappe.db.commit()

	def journal_left(self) -> list[dict]:
		return frappe.get_all(JOURNAL, {"email_account": self.account.name}, ["name", "status", "error_summary"])


class TestOldFashionedMail(LostMailCase):
	def test_a_subject_of_nothing_but_angle_brackets_is_stored_and_reads_as_written(self):
		# Frappe reads a value of tags alone as empty and refused the mandatory subject: the
		# mail stayed in the journal (make fuzz, seed 31, found a subject of repeated "<x@y>").
		raw, message_id = raw_mail(b"From: " + unique_customer().encode(), b"Subject: <order-4711@shop.example>")
		receive(raw)
		rows = received(message_id)
		self.assertEqual(len(rows), 1)
		self.assertEqual(rows[0].reference_doctype, "Issue")
		self.assertEqual(html.unescape(rows[0].subject), "<order-4711@shop.example>")  # shown as written
		self.assertEqual(self.journal_left(), [])

	def test_a_latin1_subject_with_an_unknown_charset_is_stored_readable_and_the_next_pull_is_clean(self):
		raw, message_id = raw_mail(
			b"From: Old Mailer <old@mailer.example>",
			b"Subject: Broken \xff\xfe\x80 junk \xe9t\xe9",
			b"Content-Type: text/plain; charset=x-no-such-charset",
			b"Thread-Index: !!!not-base64!!!",
			b"References: " + b" ".join(b"<ref%d@old.example>" % i for i in range(3000)),
			body=b"Caf\xe9 cr\xe8me, please help\r\n")
		receive(raw)  # stock's receive() raises when a mail failed: it must not
		rows = received(message_id)
		self.assertEqual(len(rows), 1, rows)
		self.assertEqual(rows[0].reference_doctype, "Issue")
		self.assertIn("junk été", rows[0].subject)
		headers = frappe.db.get_value("Communication", rows[0].name, "pt_headers")
		self.assertIn("junk été", headers)
		self.assertEqual(self.journal_left(), [])
		ordinary, ordinary_id = raw_mail(b"From: " + unique_customer().encode(), b"Subject: Printer")
		receive(ordinary)
		self.assertEqual(len(received(ordinary_id)), 1)

	def test_a_sender_and_cc_without_a_domain_are_kept(self):
		raw, message_id = raw_mail(b"From: mailer-daemon", b"Cc: foo, ppaalanen", b"Subject: Returned mail")
		receive(raw)
		rows = received(message_id)
		self.assertEqual(len(rows), 1, rows)
		self.assertEqual(rows[0].sender_full_name, "mailer-daemon")
		self.assertFalse(rows[0].sender)

	def test_a_sender_frappe_refuses_is_kept_as_a_name_when_stock_cannot_read_the_mail_either(self):
		"""An 8-bit byte in the Message-ID makes stock's reader raise (a Header object where it
		expects text), so the mail is read from the engine's parse; a control character in the
		From domain (make fuzz, seed 7) must not then fail the new Issue's Email field."""
		subject = f"Help {uuid.uuid4().hex}"
		raw = (b"From: agent@help.\x07xample\r\nTo: " + INBOX_ADDRESS.encode() + b"\r\nSubject: " + subject.encode()
			   + b"\r\nMessage-ID: <\xe3" + uuid.uuid4().hex.encode() + b"@x.example>\r\n\r\nHello\r\n")
		receive(raw)
		rows = frappe.get_all("Communication", {"subject": subject}, ["sender", "sender_full_name", "reference_name"])
		self.assertEqual(len(rows), 1, rows)
		self.assertFalse(rows[0].sender)
		self.assertIn("agent@help.", rows[0].sender_full_name)
		self.assertTrue(rows[0].reference_name)
		self.assertEqual(self.journal_left(), [])

	def test_a_recipient_list_of_thousands_of_colons_is_stored(self):
		"""Each ":" opens an address group the stdlib's parser recurses into (stock parses To on
		every save): 2,000 of them exceeded Python's recursion limit (make fuzz, seed 11)."""
		raw, message_id = raw_mail(b"From: " + unique_customer().encode(), b"Subject: Groups",
								   b"Cc: contact@vje" + b"thread::" * 1000 + b"x.example")
		receive(raw)
		rows = received(message_id)
		self.assertEqual(len(rows), 1, rows)
		self.assertTrue(rows[0].reference_name)
		self.assertEqual(self.journal_left(), [])

	def test_a_long_attached_text_message_is_shown_as_written(self):
		attached = b"Log follows *not emphasis* <not a tag>\r\n" + b"\\" * 40000
		raw, message_id = raw_mail(
			b"From: " + unique_customer().encode(), b"Subject: Crash log",
			b"Content-Type: multipart/mixed; boundary=b",
			body=b"--b\r\nContent-Type: text/plain\r\n\r\nSee the attached mail.\r\n"
				 b"--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: app@vendor.example\r\nSubject: crash\r\n\r\n"
				 + attached + b"\r\n--b--\r\n")
		receive(raw)
		rows = received(message_id)
		self.assertEqual(len(rows), 1, rows)
		content = frappe.db.get_value("Communication", rows[0].name, "content")
		self.assertIn("*not emphasis* &lt;not a tag&gt;", content)
		self.assertIn("\\" * 1000, content)
		# not through markdown (quadratic in backslashes: minutes for a few hundred KB), and
		# "Why here?" says so
		decision = frappe.db.get_value("PT Conversation Message", {"communication": rows[0].name}, "decision")
		self.assertIn("shown as plain text", decision)
		self.assertEqual(self.journal_left(), [])

	def test_a_mail_naming_thousands_of_recipients_keeps_the_first_hundred(self):
		recipients = b", ".join(b"reader%d@list.example" % i for i in range(3000))
		raw, message_id = raw_mail(b"From: " + unique_customer().encode(), b"Subject: Newsletter reply",
								   b"Cc: " + recipients + b", postmaster, " + recipients)
		receive(raw)
		rows = received(message_id)
		self.assertEqual(len(rows), 1, rows)
		cc = frappe.db.get_value("Communication", rows[0].name, "cc").split(", ")
		self.assertEqual(cc, [f"reader{i}@list.example" for i in range(100)])  # each once, real addresses
		self.assertEqual(self.journal_left(), [])

	def test_a_body_without_any_header_field_is_kept(self):
		fixtures = sorted(p for p in (CORPORA / "email-forward-parser-fixtures").rglob("*")
						  if p.is_file() and p.name not in NOT_MAILS)
		fixture = next((p for p in fixtures if not parse_message(p.read_bytes()).header_names), None)
		if fixture is None:
			self.skipTest("no header-less fixture in ../shared/corpora")
		raw = fixture.read_bytes() + f"\n{uuid.uuid4()}\n".encode()  # new content: not a mail seen before
		before = frappe.db.count("Communication", {"email_account": self.account.name})
		unhandled = frappe.db.count("Unhandled Email", {"email_account": self.account.name})
		receive(raw)
		after = frappe.db.count("Communication", {"email_account": self.account.name})
		self.assertEqual(after - before + frappe.db.count("Unhandled Email", {"email_account": self.account.name})
						 - unhandled, 1)
		self.assertEqual(self.journal_left(), [])


class TestHostileMailFuzz(LostMailCase):
	def test_500_mutated_real_mails_each_end_as_one_communication(self):
		if not corpus_mails():
			self.skipTest(f"no corpus mails: {CORPORA} is missing")
		report = receive_fuzz.push(receive_fuzz.mutated(500, seed=18))
		print(f"\nFrappe-layer fuzz: {report.summary()}")
		self.assertEqual(report.failures, [], report.summary())
		self.assertGreater(report.communications + report.unhandled, 400)


class TestWeakMachineSignalsNeverHideMail(LostMailCase):
	CUSTOMER_SUBJECTS = (
		"On vacation - lost my passport, please help",
		"Auto: windshield claim 4711",
		"Out of office - printer broke while I was away",
		"Automatic reply: your form never sends one",
		"Autoreply: your form sends nothing back",
		"Undeliverable: the parcel you sent me",
		"Returned mail: item 4711 arrived broken",
		"Abwesenheitsnotiz: Drucker im Büro defekt",
		"Automatische Antwort - Rechnung fehlt",
		"Réponse automatique : commande introuvable",
		"Absent du bureau - remboursement SVP",
		"Respuesta automática: no recibí mi pedido",
		"Fuera de la oficina: factura duplicada",
		"Risposta automatica: ordine mancante",
		"Afwezig - pakket niet ontvangen",
		"Resposta automática: pedido atrasado",
		"自動応答: 注文が届きません",
	)

	def setUp(self):
		super().setUp()
		self.account = support_inbox(AUTO_REPLY_INBOX, AUTO_REPLY_ADDRESS)  # receive() commits: its own inbox
		frappe.db.set_value("Email Account", self.account.name, "enable_auto_reply", 1)
		frappe.db.commit()
		self.account.reload()

	def assert_opens_an_issue_without_reply(self, raw: bytes, message_id: str):
		receive(raw.replace(INBOX_ADDRESS.encode(), AUTO_REPLY_ADDRESS.encode()), account=self.account)
		rows = received(message_id)
		self.assertEqual(len(rows), 1)
		self.assertEqual(rows[0].reference_doctype, "Issue", rows[0])
		answered = frappe.get_all("PT Automatic Mail", {"communication": ["is", "set"], "sent": 1,
														"conversation": store.conversation_of("Issue", rows[0].reference_name)})
		self.assertEqual(answered, [])
		decision = store.stored_decision(frappe.db.get_value(store.MESSAGE, {"communication": rows[0].name}))
		self.assertTrue(decision.machine and decision.machine.get("suspected"), decision.machine)

	def test_customer_subjects_that_look_automatic_open_issues(self):
		for subject in self.CUSTOMER_SUBJECTS:
			with self.subTest(subject=subject):
				raw, message_id = raw_mail(b"From: " + unique_customer().encode(),
										   b"Subject: =?utf-8?b?" + __import__("base64").b64encode(subject.encode())
										   + b"?=")
				self.assert_opens_an_issue_without_reply(raw, message_id)

	def test_x_auto_response_suppress_on_an_ordinary_mail_opens_an_issue(self):
		raw, message_id = raw_mail(b"From: " + unique_customer().encode(), b"Subject: Invoice 2211 is wrong",
								   b"X-Auto-Response-Suppress: All")
		self.assert_opens_an_issue_without_reply(raw, message_id)


def corpus_machine_mail(folder: str, every: int) -> list[bytes]:
	"""Strong (not merely suspected) machine mail of one corpus, every n-th file."""
	root = CORPORA / folder
	files = sorted(p for p in root.rglob("*") if p.is_file() and p.name not in ("LICENSE", "README.md"))[::every]
	mails = []
	for path in files:
		raw = path.read_bytes()
		machine = classify(parse_message(raw))
		if machine and machine.kind in ("auto_reply", "bounce") and not machine.suspected:
			mails.append(raw)
	return mails


class TestSuspendedMachineMail(LostMailCase):
	def test_corpus_auto_replies_and_bounces_that_thread_nowhere_are_suspended_not_issues(self):
		mails = corpus_machine_mail("sisimai-set-of-emails", 25) + corpus_machine_mail("flufl-bounce-data", 6)
		if not mails:
			self.skipTest("no machine mail in ../shared/corpora")
		for raw in mails:
			# Each its own Message-ID: the corpora repeat mails across folders (bsd/dos/mac).
			raw = receive_fuzz._MESSAGE_ID.sub(lambda m: m.group(1) + uuid.uuid4().hex.encode() + b".", raw, count=1)
			message = parse_message(raw)
			receive(raw)
			with self.subTest(message_id=message.message_id):
				stored = frappe.get_all(store.MESSAGE, {"message_id": message.message_id, "digest": message.content_digest},
										pluck="communication")
				self.assertEqual(len(stored), 1, message.message_id)
				self.assertFalse(frappe.db.get_value("Communication", stored[0], "reference_doctype"),
								 "machine mail opened a ticket")
				queued = queue_rows(stored[0])
				self.assertEqual([q.status for q in queued], ["Suspended"], queued)
				self.assertIn(queued[0].reason, ("Auto-reply", "Bounce"))
		print(f"\n{len(mails)} corpus auto-replies and bounces suspended")

	def test_suspended_rows_are_cleared_after_the_retention_days_and_the_mail_stays(self):
		raw, message_id = raw_mail(b"From: " + unique_customer().encode(), b"Subject: Out of office",
								   b"Auto-Submitted: auto-replied")
		receive(raw)
		communication = received(message_id)[0].name
		queued = queue_rows(communication)[0].name
		frappe.db.set_value(review_queue.QUEUE, queued, "creation", frappe.utils.add_days(frappe.utils.now_datetime(), -31))
		frappe.db.set_single_value("PT Settings", "suspended_retention_days", 30)
		jobs.clear_old_suspended_mail()
		self.assertFalse(frappe.db.exists(review_queue.QUEUE, queued))
		self.assertTrue(frappe.db.exists("Communication", communication))

	def test_a_reviewer_opens_dismisses_many_at_once(self):
		names = []
		for _ in range(3):
			raw, message_id = raw_mail(b"From: " + unique_customer().encode(), b"Subject: Away",
									   b"Auto-Submitted: auto-replied")
			receive(raw)
			names.append(queue_rows(received(message_id)[0].name)[0].name)
		result = api.queue_bulk("dismiss", names[:2], reason="out-of-office noise")
		self.assertEqual(sorted(result["done"]), sorted(names[:2]))
		self.assertEqual({frappe.db.get_value(review_queue.QUEUE, n, "status") for n in names[:2]}, {"Dismissed"})
		issue = api.queue_bulk("open", [names[2], names[0]])
		self.assertEqual(issue["done"], [names[2]])
		self.assertIn(names[0], issue["refused"])  # dismissed already: says so, changes nothing
		opened = frappe.db.get_value(review_queue.QUEUE, names[2], "resolved_reference_name")
		self.assertEqual(frappe.db.get_value("Communication", frappe.db.get_value(review_queue.QUEUE, names[2], "communication"),
											 "reference_name"), opened)


class TestJournalNeverBlocksOrLoops(LostMailCase):
	def test_our_own_sent_mail_that_is_no_reply_is_skipped_with_the_reason(self):
		raw, message_id = raw_mail(b"From: " + INBOX_ADDRESS.encode(), b"Subject: Newsletter copy")
		receive(raw)
		self.assertEqual(received(message_id), [])
		left = self.journal_left()
		self.assertEqual([row.status for row in left], ["Skipped"])
		self.assertIn("own address", left[0].error_summary)
		receive()  # the next pull does not try it again
		self.assertEqual([row.status for row in self.journal_left()], ["Skipped"])
		frappe.db.delete(JOURNAL, {"email_account": self.account.name})
		frappe.db.commit()

	def test_a_mail_whose_worker_died_at_every_attempt_is_parked_and_told_not_left_waiting(self):
		raw, message_id = raw_mail(b"From: " + unique_customer().encode(), b"Subject: Kills its worker")
		before = frappe.db.count("Notification Log", {"document_type": JOURNAL})
		for _ in range(journal.MAX_ATTEMPTS):  # the worker is gone each time (killed, out of memory)
			with patch.object(inbound.PTInboundMail, "process", side_effect=WorkerGone), \
					contextlib.suppress(WorkerGone):
				receive(raw)
			frappe.db.rollback()
		receive()  # the last attempt may still be under way in another worker: left waiting
		self.assertEqual([row.status for row in self.journal_left()], ["Waiting"])
		frappe.db.set_value(JOURNAL, self.journal_left()[0].name, "modified",
							frappe.utils.add_to_date(None, hours=-2), update_modified=False)
		frappe.db.commit()
		receive()  # two hours later: it is tried no more, and the System Managers are told
		left = self.journal_left()
		self.assertEqual([row.status for row in left], ["Parked"])
		self.assertIn("stopped before it was stored", left[0].error_summary)
		self.assertEqual(received(message_id), [])
		self.assertGreater(frappe.db.count("Notification Log", {"document_type": JOURNAL, "document_name": left[0].name}), 0)
		self.assertGreater(frappe.db.count("Notification Log", {"document_type": JOURNAL}), before)
		frappe.db.delete(JOURNAL, {"email_account": self.account.name})
		frappe.db.commit()

	def test_a_pull_larger_than_the_database_takes_in_one_statement_is_journaled_and_stored(self):
		packet = int(frappe.db.sql("select @@max_allowed_packet")[0][0])
		attachment = os.urandom(1_500_000)  # ~2 MB as MIME, ~2.7 MB journaled
		count = packet // 2_700_000 + 2
		if count > 16:
			self.skipTest(f"max_allowed_packet is {packet} bytes: too many large mails to exceed it")
		mails = []
		for index in range(count):
			message = MIMEMultipart()
			message["From"], message["To"] = unique_customer(), INBOX_ADDRESS
			message["Subject"], message["Message-ID"] = f"Scan {index}", f"<{uuid.uuid4().hex}@customer.example>"
			message.attach(MIMEText("The scan is attached.", "plain"))
			part = MIMEApplication(attachment, Name=f"scan-{index}.bin")
			part["Content-Disposition"] = f'attachment; filename="scan-{index}.bin"'
			message.attach(part)
			mails.append((message.as_bytes(), message["Message-ID"].strip("<>")))
		receive(*(raw for raw, _ in mails))  # after downtime: the inbox hands over all of them at once
		self.assertEqual([len(received(message_id)) for _, message_id in mails], [1] * count)
		self.assertEqual(self.journal_left(), [])

	def test_a_mail_the_app_cannot_process_is_stored_for_a_reviewer_in_the_same_pull(self):
		raw, message_id = raw_mail(b"From: " + unique_customer().encode(), b"Subject: Something odd")
		with patch.object(store, "record_inbound", side_effect=ValueError("a bug on this mail")):
			receive(raw)  # nothing raised, nothing left to retry
		rows = received(message_id)
		self.assertEqual(len(rows), 1)
		queued = queue_rows(rows[0].name)
		self.assertEqual([(q.status, q.reason) for q in queued], [("Open", "Processing failed")])
		self.assertIn("a bug on this mail", queued[0].evidence)
		self.assertEqual(self.journal_left(), [])

	def test_a_parked_mail_tells_the_system_managers_once_and_can_be_retried_or_opened(self):
		raw, message_id = raw_mail(b"From: " + unique_customer().encode(), b"Subject: Parked")
		before = frappe.db.count("Notification Log", {"document_type": JOURNAL})
		with failing_insert("Communication", injected_db_error(), times=journal.MAX_ATTEMPTS + 2):
			for _ in range(journal.MAX_ATTEMPTS + 2):  # the database is full: every pull fails
				try:
					receive(raw)
				except Exception:
					pass
		left = self.journal_left()
		self.assertEqual(len(left), 1, left)
		self.assertEqual(left[0].status, "Parked")
		self.assertIn("database", left[0].error_summary.lower())
		notes = frappe.db.count("Notification Log", {"document_type": JOURNAL, "document_name": left[0].name})
		managers = len(set(frappe.get_all("Has Role", {"role": "System Manager", "parenttype": "User"}, pluck="parent")))
		self.assertGreaterEqual(notes, 1)
		self.assertLessEqual(notes, managers)
		self.assertEqual(frappe.db.count("Notification Log", {"document_type": JOURNAL}) - before, notes)
		api.journal_retry(left[0].name)
		self.assertEqual(frappe.db.get_value(JOURNAL, left[0].name, ["status", "attempts"]), ("Waiting", 0))
		issue = api.journal_open_as_issue(left[0].name)
		rows = received(message_id)
		self.assertEqual([(r.reference_doctype, r.reference_name) for r in rows], [("Issue", issue)])
		self.assertEqual(self.journal_left(), [])
		with self.assertRaises(frappe.ValidationError):  # a second click (an admin's other tab): said, not done twice
			api.journal_open_as_issue(left[0].name)
		self.assertEqual(len(received(message_id)), 1)
