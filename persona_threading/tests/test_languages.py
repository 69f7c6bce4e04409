"""One stored row, read in each reader's language (issue 21): the notes under a mail's routing
line, an agent's action on the timeline, a third party's warning and why a mail waits in the
queue are stored as phrases and said with ``_()`` when the desk loads them. Rows from before,
stored as English text, are shown as they were stored."""

from __future__ import annotations

import contextlib
import json

import frappe
from frappe.desk.form.load import getdoc
from frappe.tests.utils import FrappeTestCase
from frappe.translate import get_user_lang

from persona_threading import api
from persona_threading.demo.client import new_mail
from persona_threading.engine.message import parse_message
from persona_threading.frappe_adapter import review_queue, store

from .helpers import (INBOX_ADDRESS, UNROUTED_ADDRESS, agent, communication_for, customer_writes_in, receive,
					  support_inbox, unique_customer, unrouted_inbox)

ENGLISH = "pt-lang-en@pt-test.example"
GERMAN = "pt-lang-de@pt-test.example"


class LanguageCase(FrappeTestCase):
	def setUp(self):
		support_inbox()
		for user, language in ((ENGLISH, "en"), (GERMAN, "de")):
			agent(user)
			frappe.db.set_value("User", user, "language", language)

	@contextlib.contextmanager
	def reading_as(self, user: str):
		"""As the desk serves ``user``: their session, and the language a request takes from them."""
		before = frappe.session.user, frappe.local.lang
		frappe.set_user(user)
		frappe.local.lang = get_user_lang(user)
		try:
			yield
		finally:
			frappe.set_user(before[0])
			frappe.local.lang = before[1]

	def form(self, doctype: str, name: str):
		"""What the desk's form receives: (the document, its timeline's additional content as text)."""
		frappe.local.response = frappe._dict({"docs": []})
		getdoc(doctype, name)
		content = " ".join(item["content"] for item in frappe.response.docinfo.additional_timeline_content)
		return frappe.response.docs[-1], content

	def third_party_replies(self):
		"""A customer's Issue, and Jonas Weber (on nothing) answering it: (customer, stranger, issue, row)."""
		customer, issue, first = customer_writes_in()
		stranger = unique_customer()
		raw = new_mail(f"Jonas Weber <{stranger}>", INBOX_ADDRESS, "Re: Printer broken", "I know why.",
					   In_Reply_To=f"<{parse_message(first).message_id}>")
		receive(raw)
		communication = communication_for(parse_message(raw).message_id).name
		row = frappe.db.get_value(store.MESSAGE, {"communication": communication})
		return customer, stranger, issue, row


class TestOneRowInEachLanguage(LanguageCase):
	def test_the_routing_line_an_agents_action_and_the_warning_read_in_the_readers_language(self):
		"""The same stored rows, read by an English and a German agent; a row from before as it is."""
		customer, stranger, issue, row = self.third_party_replies()
		cc = unique_customer()
		with self.reading_as(ENGLISH):
			api.set_participant("Issue", issue, cc, "CC", 1)
		self.assertTrue(frappe.db.get_value(store.MESSAGE, row, "warning").startswith('{"phrase"'))  # stored as data

		with self.reading_as(ENGLISH):
			_, timeline = self.form("Issue", issue)
			warnings = api.conversation_participants("Issue", issue)["warnings"]
		self.assertIn(f"{customer} joined as Requester: opened the conversation", timeline)
		self.assertIn(f"Participants: {cc} added as CC by {ENGLISH}", timeline)
		self.assertEqual([w.warning for w in warnings], [f"reply from a third party: Jonas Weber <{stranger}>"])

		with self.reading_as(GERMAN):
			_, timeline = self.form("Issue", issue)
			warnings = api.conversation_participants("Issue", issue)["warnings"]
		self.assertIn(f"Beteiligte: {customer} ist als Anfragender dazugekommen: hat die Konversation eröffnet",
					  timeline)
		self.assertIn(f"{stranger} ist als Dritter dazugekommen", timeline)
		self.assertIn(f"Beteiligte: {cc} als CC hinzugefügt von {ENGLISH}", timeline)
		self.assertNotIn("joined as", timeline)
		self.assertEqual([w.warning for w in warnings], [f"Antwort eines Dritten: Jonas Weber <{stranger}>"])

		# a row from before holds English text (HTML, escaped): shown as it was stored
		frappe.db.set_value(store.MESSAGE, row, {"notes": json.dumps(["Participants: old@x.example joined as CC"]),
												 "warning": "reply from a third party: Old &lt;old@x.example&gt;"})
		with self.reading_as(GERMAN):
			_, timeline = self.form("Issue", issue)
			warnings = api.conversation_participants("Issue", issue)["warnings"]
		self.assertIn("Participants: old@x.example joined as CC", timeline)
		self.assertEqual([w.warning for w in warnings], ["reply from a third party: Old <old@x.example>"])

	def test_why_a_mail_waits_in_the_queue_reads_in_the_reviewers_language(self):
		receive(new_mail(unique_customer(), UNROUTED_ADDRESS, "Hello?", "Anyone?"), account=unrouted_inbox())
		queued = frappe.get_all(review_queue.QUEUE, filters={"email_account": "_PT Nobody"}, order_by="creation desc",
								limit=1, pluck="name")[0]
		with self.reading_as(ENGLISH):
			english, _ = self.form(review_queue.QUEUE, queued)
		with self.reading_as(GERMAN):
			german, _ = self.form(review_queue.QUEUE, queued)
			reason = frappe._(german.reason)  # a code: the desk says its Select options with __()
		self.assertEqual(english.evidence,
						 f"no rule matched; inbox {UNROUTED_ADDRESS} has project scopes but no route")
		self.assertEqual(german.evidence,
						 f"keine Regel hat gepasst; Postfach {UNROUTED_ADDRESS} hat Projekte, aber keine Route")
		self.assertEqual((english.reason, reason), ("No route", "Keine Route"))
