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
					"select parent from `tabContact Email` where email_id = %s order by creation asc limit 1",
					# a reply to mail from before the app: stock's records by Message-ID (lookup.py)
					"select reference_name from `tabCommunication` where message_id in (%s) and reference_doctype = 'Issue'",
					"select reference_name from `tabEmail Queue` where message_id in (%s) and reference_doctype = 'Issue'"):
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

	def test_a_mail_stored_before_the_app_was_on_and_fetched_again_is_stored_once(self):
		"""A second inbox, or a server that hands the mail over again: the copy stock stored
		while the app was off is the same mail (its Issue adopted on the spot), not a new one."""
		from persona_threading.demo.client import new_mail

		support_inbox()
		raw = new_mail(unique_customer(), INBOX_ADDRESS, "Stored before", "Hello")
		frappe.db.set_single_value("PT Settings", "enabled", 0)  # stock stores it
		try:
			receive(raw)
		finally:
			frappe.db.set_single_value("PT Settings", "enabled", 1)
		receive(raw)
		mid = parse_message(raw).message_id
		self.assertEqual(frappe.db.count("Communication", {"message_id": mid}), 1)
		self.assertEqual(frappe.db.count("PT Conversation Message", {"message_id": mid}), 1)

	def test_backfill_keeps_the_people_of_the_history(self):
		"""Requester = raised_by, CCs of the customer's and the agent's mail active as the last
		mail left them, the answering agent an Agent; a second run changes nothing."""
		from frappe.core.doctype.communication.email import make

		from persona_threading.demo.client import new_mail

		from .helpers import agent

		support_inbox()
		helper = agent("pt-backfill-agent@pt-test.example")
		customer, cc, late_cc = unique_customer(), unique_customer(), unique_customer()
		frappe.db.set_single_value("PT Settings", "enabled", 0)  # stock routes the history
		try:
			raw = new_mail(customer, INBOX_ADDRESS, "Backfill me", "Hello", Cc=cc)
			receive(raw)
			issue = communication_for(parse_message(raw).message_id).reference_name
			frappe.set_user(helper)
			try:
				make(doctype="Issue", name=issue, subject="Re: Backfill me", content="<p>On it.</p>", recipients=customer,
					 cc=f"{cc}, {late_cc}", sender=INBOX_ADDRESS, send_email=True)
			finally:
				frappe.set_user("Administrator")
			receive(new_mail(cc, INBOX_ADDRESS, "Re: Backfill me", "Me too", Cc=f"{customer}, {late_cc}",
							 In_Reply_To=f"<{parse_message(raw).message_id}>"))
		finally:
			frappe.db.set_single_value("PT Settings", "enabled", 1)
		self.assertGreaterEqual(backfill.backfill_document("Issue", issue), 3)
		conversation = frappe.db.get_value("PT Conversation", {"reference_name": issue})

		def people():
			return {r.email: (r.role, r.active) for r in frappe.get_all(
				"PT Conversation Follower", filters={"conversation": conversation}, fields=["email", "role", "active"])}

		self.assertEqual(people(), {customer: ("Requester", 1), cc: ("CC", 1), late_cc: ("CC", 1),
									helper: ("Agent", 1)})
		self.assertEqual(backfill.backfill_document("Issue", issue), 0, "idempotent")
		self.assertEqual(len(people()), 4)

	def test_backfill_ends_a_cc_an_agent_dropped_inactive_and_leaves_followers_alone(self):
		"""The customer copied two people; the agent's later answer kept one: the other ends an
		inactive CC (as live). A colleague already following the ticket, and one who had stopped
		following it, are copied in that history too: the backfill leaves both rows as they were."""
		from frappe.core.doctype.communication.email import make

		from persona_threading.demo.client import new_mail
		from persona_threading.frappe_adapter import followers, participants, store

		from .helpers import agent

		support_inbox()
		helper = agent("pt-backfill-agent@pt-test.example")
		following, stopped = agent("pt-backfill-follower@pt-test.example"), agent("pt-backfill-stopped@pt-test.example")
		customer, kept, dropped = unique_customer(), unique_customer(), unique_customer()
		frappe.db.set_single_value("PT Settings", "enabled", 0)  # stock routes the history
		try:
			raw = new_mail(customer, INBOX_ADDRESS, "Backfill the Cc", "Hello", Cc=f"{kept}, {dropped}, {following}, {stopped}")
			receive(raw)
			issue = communication_for(parse_message(raw).message_id).reference_name
			frappe.set_user(helper)
			try:
				make(doctype="Issue", name=issue, subject="Re: Backfill the Cc", content="<p>On it.</p>",
					 recipients=customer, cc=f"{kept}, {following}", sender=INBOX_ADDRESS, send_email=True)
			finally:
				frappe.set_user("Administrator")
		finally:
			frappe.db.set_single_value("PT Settings", "enabled", 1)
		conversation = store.ensure_conversation("Issue", issue)  # the followers were there first
		followers.add_follower(conversation, following, "Follower")
		followers.add_follower(conversation, stopped, "Follower")
		frappe.db.set_value(followers.FOLLOWER, {"conversation": conversation, "email": stopped}, "active", 0)
		rows_before = {r.email: r for r in frappe.get_all(followers.FOLLOWER, filters={"conversation": conversation},
														   fields=["email", "role", "active", "modified"])}

		self.assertEqual(backfill.backfill_document("Issue", issue), 2)
		rows = {r.email: r for r in frappe.get_all(followers.FOLLOWER, filters={"conversation": conversation},
													fields=["email", "role", "active", "modified"])}
		people = {email: (r.role, r.active) for email, r in rows.items()}
		self.assertEqual(people, {customer: ("Requester", 1), kept: ("CC", 1), dropped: ("CC", 0),
								  helper: ("Agent", 1), following: ("Follower", 1), stopped: ("Follower", 0)})
		for email in (following, stopped):
			self.assertEqual(rows[email].modified, rows_before[email].modified, f"{email} was touched")
		composer = participants.recipients_of_a_public_reply("Issue", issue)  # what the agent's next reply copies
		self.assertEqual((composer["to"], sorted(composer["cc"])), ([customer], [kept]))

	def test_an_agents_first_answer_on_a_ticket_from_before_the_app_continues_its_thread(self):
		from frappe.core.doctype.communication.email import make

		from persona_threading.demo.client import new_mail

		support_inbox()
		customer, cc = unique_customer(), unique_customer()
		frappe.db.set_single_value("PT Settings", "enabled", 0)
		try:
			raw = new_mail(customer, INBOX_ADDRESS, "Older ticket", "Hello", Cc=cc)
			receive(raw)
		finally:
			frappe.db.set_single_value("PT Settings", "enabled", 1)
		issue = communication_for(parse_message(raw).message_id).reference_name
		make(doctype="Issue", name=issue, subject="Re: Older ticket", content="<p>Here we go.</p>",
			 recipients=customer, cc=cc, sender=INBOX_ADDRESS, send_email=True)
		sent = parse_message(frappe.get_last_doc("Email Queue", filters={"reference_name": issue}).message.encode())
		self.assertEqual(sent.in_reply_to, (parse_message(raw).message_id,))
		conversation = frappe.db.get_value("PT Conversation", {"reference_name": issue})
		self.assertEqual(frappe.db.get_value("PT Conversation Follower", {"conversation": conversation, "email": cc},
											 ["role", "active"]), ("CC", 1))

	def test_a_reply_to_history_threads_by_the_ids_it_names_never_by_the_ticket_name_in_its_subject(self):
		"""What the README promises on install: a reply naming a pre-install mail's Message-ID
		lands on its Issue; stock's subject reference "(#ISS-…)" (which anyone can write) and its
		subject-and-sender guess do not thread, whoever sends them: a new Issue opens."""
		from persona_threading.demo.client import new_mail

		support_inbox()
		customer = unique_customer()
		frappe.db.set_single_value("PT Settings", "enabled", 0)  # stock routes the history
		try:
			raw = new_mail(customer, INBOX_ADDRESS, "Invoice copy", "Please resend it.")
			receive(raw)
		finally:
			frappe.db.set_single_value("PT Settings", "enabled", 1)
		request = parse_message(raw).message_id
		issue = communication_for(request).reference_name

		def lands(raw: bytes) -> str:
			receive(raw)
			return communication_for(parse_message(raw).message_id).reference_name

		self.assertEqual(lands(new_mail(customer, INBOX_ADDRESS, "Another topic", "And this?",
										References=f"<{request}>")), issue)
		named = lands(new_mail(customer, INBOX_ADDRESS, f"Re: Invoice copy (#{issue})", "Still waiting."))
		guessed = lands(new_mail(customer, INBOX_ADDRESS, "Re: Invoice copy", "Hello again."))
		self.assertNotIn(issue, (named, guessed))
		self.assertNotEqual(named, guessed)

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
