"""End to end with real mail servers: Dovecot (IMAP) and an SMTP catcher on loopback.

Mail goes in only by IMAP APPEND to the real mailbox and is pulled by the Email Account's
own receive() (as the scheduler calls it); replies go out only through Frappe's email
queue to the real SMTP server. Runs on the e2e site only (scripts/run-frappe-tests.sh sets
``persona_e2e`` there), so no other site's mail accounts change. One line per mail:
``E2E <kind>: IMAP uid <n> -> <rule> -> <Issue or none>``.
"""

from __future__ import annotations

import tempfile
import unittest

import frappe
from frappe.core.doctype.communication.email import make
from frappe.email.queue import flush
from frappe.tests.utils import FrappeTestCase

from persona_threading.e2e import clients
from persona_threading.e2e.servers import mail_servers
from persona_threading.engine.message import parse_message

ACCOUNT = "_PT E2E Inbox"


@unittest.skipUnless(frappe.conf.get("persona_e2e"), "runs on the e2e site only (make e2e; make test runs it there)")
class TestRealMailServers(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls._workdir = tempfile.TemporaryDirectory(prefix="pt-e2e-")
		cls._servers = mail_servers(cls._workdir.name)
		cls.servers = cls._servers.__enter__()

	@classmethod
	def tearDownClass(cls):
		cls._servers.__exit__(None, None, None)
		cls._workdir.cleanup()
		super().tearDownClass()

	def setUp(self):
		self.uids = {}
		frappe.flags.mute_emails = False
		frappe.flags.testing_email = True  # really hand queued mail to the SMTP server
		self.addCleanup(setattr, frappe.flags, "testing_email", False)

	def account(self, sync: str):
		"""The support inbox against the real servers, in Frappe's "UNSEEN" or "ALL" (UID) mode."""
		servers = self.servers
		values = {**servers.incoming_account_fields(append_to="Issue", email_sync_option=sync),
				  **servers.outgoing_account_fields(), "default_outgoing": 1, "default_incoming": 1,
				  "enable_auto_reply": 0, "email_account_name": ACCOUNT}
		if frappe.db.exists("Email Account", ACCOUNT):
			doc = frappe.get_doc("Email Account", ACCOUNT)
			doc.imap_folder = []
			doc.update(values)
			doc.uidnext = doc.uidvalidity = None
			doc.save(ignore_permissions=True)  # validation connects to the real IMAP server
		else:
			doc = frappe.get_doc({"doctype": "Email Account", **values}).insert(ignore_permissions=True)
		frappe.db.commit()
		return frappe.get_doc("Email Account", ACCOUNT)

	def deliver(self, kind: str, raw: bytes, account) -> tuple[str | None, str | None]:
		"""APPEND the mail to the real mailbox, pull as the scheduler does; print its path."""
		uid = self.uids[kind] = self.servers.imap_append(raw)
		account.receive()
		frappe.db.commit()
		message_id = parse_message(raw).message_id
		comm = frappe.db.get_value("Communication", {"message_id": message_id, "sent_or_received": "Received"},
								   ["name", "reference_name"], as_dict=True, order_by="creation desc")
		rule = frappe.db.get_value("PT Conversation Message", {"communication": comm.name}, "rule") if comm else None
		issue = comm.reference_name if comm else None
		print(f"E2E {kind}: IMAP uid {uid} -> {rule or 'not stored'} -> {issue or 'none'}")
		return rule, issue

	def reply_from_issue(self, issue: str, customer: str) -> bytes:
		"""An agent replies from the Issue; the queue is flushed; the mail the SMTP server got."""
		before = len(self.servers.smtp_messages())
		make(doctype="Issue", name=issue, subject=f"Re: {frappe.db.get_value('Issue', issue, 'subject')}",
			 content="<p>We are on it.</p>", recipients=customer, sender=self.servers.address, send_email=True)
		frappe.db.commit()
		flush()
		captured = self.servers.smtp_messages()[before:]
		self.assertEqual([list(c.rcpt_tos) for c in captured], [[customer]])
		return captured[0].raw

	def test_the_whole_loop_through_real_servers(self):
		for sync in ("UNSEEN", "ALL"):  # both of Frappe's IMAP modes: seen flags, and UIDs
			with self.subTest(sync=sync):
				self.run_loop(sync)

	def run_loop(self, sync: str):
		account = self.account(sync)
		customer = f"customer-{frappe.generate_hash(length=8)}@e2e-customer.example"
		first = clients.new_mail(customer, self.servers.address, f"Printer on fire ({sync})", "Please help.")
		rule, issue = self.deliver("new", first, account)
		self.assertEqual(rule, "new")
		self.assertTrue(issue)

		sent = self.reply_from_issue(issue, customer)
		stamped = parse_message(sent)
		self.assertIn("thread::", stamped.subject)
		self.assertIn("pt-ticket:", stamped.body_haystack)
		self.assertTrue(stamped.in_reply_to and stamped.references and stamped.thread_index)

		for kind, raw, expected in (
			("references", clients.gmail_reply(sent, customer, "Gmail answer"), "references"),
			("thread_index", clients.outlook_reply(sent, customer, "Outlook answer"), "thread_index"),
			("hidden_tag", clients.hidden_tag_reply(sent, customer, "Edited subject, quote deleted"), "ticket_tag"),
			("token", clients.headerless_reply(sent, customer, "A client that drops headers"), "token"),
		):
			self.assertEqual(self.deliver(kind, raw, account), (expected, issue), kind)

		issues_before = frappe.db.count("Issue")
		smtp_before = len(self.servers.smtp_messages())
		away = clients.out_of_office_reply(sent, customer, keep_thread=False)
		rule, landed = self.deliver("out_of_office", away, account)
		self.assertEqual((rule, landed), ("auto_reply", None))
		flush()
		self.assertEqual(frappe.db.count("Issue"), issues_before)
		self.assertEqual(len(self.servers.smtp_messages()), smtp_before)  # no auto-reply to an auto-reply

		# fetched twice: the mailbox forgets it was read (IMAP flags reset), the app stores it once
		message_id = parse_message(first).message_id
		self.servers.imap_reset_seen()  # ("ALL" re-reads the newest UID on every pull anyway)
		account = frappe.get_doc("Email Account", ACCOUNT)
		account.receive()
		frappe.db.commit()
		print(f"E2E duplicate: IMAP uid {self.uids['new']} -> duplicate -> {issue}")
		self.assertEqual(frappe.db.count("Communication", {"message_id": message_id}), 1)
		self.assertEqual(frappe.db.count("PT Conversation Message", {"message_id": message_id}), 1)
		self.assertFalse(frappe.get_all("Error Log", filters={"method": ["like", "%email%account%"],
															  "creation": [">", frappe.utils.add_to_date(None, minutes=-10)]}))
