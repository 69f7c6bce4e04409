"""Settings security, backfill and the bench `persona-threading` commands."""

from __future__ import annotations

import os
import subprocess
import tempfile

import frappe
from frappe.tests.utils import FrappeTestCase

from persona_threading.engine.message import parse_message
from persona_threading.frappe_adapter import backfill, settings

from .helpers import INBOX_ADDRESS, communication_for, first_mail, receive, support_inbox, unique_customer


class TestSettings(FrappeTestCase):
	def test_secret_exists_and_is_never_shown_in_plain(self):
		secret = settings.keyring()  # raises if missing
		self.assertTrue(secret)
		doc = frappe.get_doc("PT Settings")
		self.assertNotEqual(doc.token_secret, doc.get_password("token_secret"))
		self.assertTrue(set(doc.token_secret) <= {"*"})

	def test_settings_that_did_nothing_are_gone_after_migrate(self):
		from persona_threading.patches.v0_2 import remove_unused_fields

		self.assertFalse(frappe.get_meta("PT Settings").has_field("conversation_doctype"))
		self.assertFalse(frappe.get_meta("PT Conversation").has_field("status"))
		frappe.db.sql_ddl("alter table `tabPT Conversation` add column `status` varchar(140)")  # an old site
		frappe.db.sql("insert into tabSingles (doctype, field, value) values ('PT Settings', 'conversation_doctype', 'ToDo')")
		remove_unused_fields.execute()
		self.assertFalse(frappe.db.sql("show columns from `tabPT Conversation` like 'status'"))
		self.assertFalse(frappe.db.sql("select 1 from tabSingles where doctype='PT Settings' and field='conversation_doctype'"))

	def test_only_admins_may_change_routing_settings(self):
		self.assertFalse(frappe.has_permission("PT Settings", "write", user="Guest"))
		agent = "pt-agent@pt-test.example"
		if not frappe.db.exists("User", agent):
			user = frappe.get_doc({"doctype": "User", "email": agent, "first_name": "Agent",
								   "send_welcome_email": 0}).insert(ignore_permissions=True)
			user.add_roles("Support Team")
		self.assertFalse(frappe.has_permission("PT Settings", "write", user=agent))
		self.assertTrue(frappe.has_permission("PT Settings", "write", user="Administrator"))


class TestHistoryIndexes(FrappeTestCase):
	def test_the_lookups_every_mail_makes_use_an_index_whatever_the_history(self):
		"""ERPNext's first-response check and the Contact lookups would scan every row."""
		for sql in ("select name from `tabCommunication` where reference_name = %s and sent_or_received = 'Sent'",
					"select parent from `tabContact Email` where email_id = %s order by creation asc limit 1"):
			plan = frappe.db.sql(f"explain {sql}", ("ISS-2026-00001",), as_dict=True)
			self.assertTrue(plan[0].key, f"no index for: {sql} ({plan})")


class TestBackfillAndCommands(FrappeTestCase):
	def test_backfill_threads_replies_to_history_from_before_the_app(self):
		support_inbox()
		issue = frappe.get_doc({"doctype": "Issue", "subject": "Old ticket", "raised_by": unique_customer()}).insert(
			ignore_permissions=True
		)
		old = frappe.get_doc({
			"doctype": "Communication", "communication_medium": "Email", "sent_or_received": "Sent",
			"subject": "Old reply", "content": "done", "reference_doctype": "Issue", "reference_name": issue.name,
			"message_id": f"old-{issue.name}@pt-test.example", "sender": INBOX_ADDRESS,
		})
		old.flags.in_receive = True  # history: not stamped as a new outgoing mail
		old.db_insert()
		self.assertEqual(backfill.backfill_document("Issue", issue.name), 1)
		self.assertEqual(backfill.backfill_document("Issue", issue.name), 0, "idempotent")
		reply = (f"From: {issue.raised_by}\nTo: {INBOX_ADDRESS}\nSubject: Re: Old reply\n"
				 f"Message-ID: <r-{issue.name}@pt-customer.example>\nIn-Reply-To: <{old.message_id}>\n\nthanks\n")
		receive(reply)
		self.assertEqual(communication_for(f"r-{issue.name}@pt-customer.example").reference_name, issue.name)

	def test_explain_command_prints_every_rule(self):
		customer = unique_customer()
		raw = first_mail(customer)
		receive(raw)
		comm = communication_for(parse_message(raw).message_id)
		bench = os.path.abspath(os.path.join(frappe.get_app_path("frappe"), "..", "..", ".."))
		with tempfile.NamedTemporaryFile("wb", suffix=".eml", delete=False) as handle:
			handle.write(raw)
		for target in (comm.name, handle.name):
			out = subprocess.run(["bench", "--site", frappe.local.site, "persona-threading", "explain", target],
								 cwd=bench, capture_output=True, text=True)
			self.assertEqual(out.returncode, 0, out.stderr)
			for rule in ("token", "in_reply_to", "references", "thread_index", "prefix"):
				self.assertIn(rule, out.stdout)
		self.assertIn("duplicate", out.stdout)  # the file's Message-ID is stored already
