"""End to end in a real bench: mail in through EmailAccount.receive(), replies out through
Frappe's communication API and Email Queue, the customer's answer back in."""

from __future__ import annotations

import json

import frappe
from frappe.core.doctype.communication.email import make
from frappe.tests.test_api import FrappeAPITestCase
from frappe.tests.utils import FrappeTestCase

from persona_threading.demo.client import customer_reply
from persona_threading.engine.message import parse_message
from persona_threading.frappe_adapter import api

from .helpers import INBOX_ADDRESS, agent, api_headers, communication_for, customer_writes_in, first_mail, receive, support_inbox, timeline, unique_customer


class TestInboundThreading(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		support_inbox()
		frappe.db.commit()

	def open_issue(self):
		"""A customer writes in; an agent replies from the Issue; returns (customer, issue, agent raw)."""
		customer, issue, raw = customer_writes_in()
		comm = communication_for(parse_message(raw).message_id)
		self.assertEqual(comm.reference_doctype, "Issue")
		make(
			doctype="Issue",
			name=issue,
			subject=f"Re: {comm.subject}",
			content="<p>A technician is on the way.</p>",
			recipients=customer,
			sender=INBOX_ADDRESS,
			send_email=True,
		)
		queued = frappe.get_last_doc("Email Queue", filters={"reference_name": issue})
		return customer, issue, queued.message.encode("utf-8")

	def assert_lands_on(self, raw: bytes, issue: str, rule: str):
		receive(raw)
		comm = communication_for(parse_message(raw).message_id)
		self.assertEqual((comm.reference_doctype, comm.reference_name), ("Issue", issue))
		row = frappe.get_doc("PT Conversation Message", {"communication": comm.name})
		self.assertEqual(row.rule, rule)
		return comm

	def test_new_mail_opens_an_issue_with_its_decision_on_the_timeline(self):
		customer = unique_customer()
		raw = first_mail(customer)
		receive(raw)
		comm = communication_for(parse_message(raw).message_id)
		self.assertEqual(comm.reference_doctype, "Issue")
		self.assertEqual(frappe.db.get_value("Issue", comm.reference_name, "raised_by"), customer)
		entries = timeline("Issue", comm.reference_name)
		self.assertIn("Opened this Issue: a new request", entries)
		followers = frappe.get_all("PT Conversation Follower", filters={"email": customer}, fields=["role"])
		self.assertEqual([f.role for f in followers], ["Requester"])

	def test_agent_reply_is_stamped_and_recorded(self):
		_, issue, agent_raw = self.open_issue()
		agent = parse_message(agent_raw)
		self.assertIn("thread::", agent.subject)
		self.assertLessEqual(len(agent.subject), 128)
		self.assertIn("pt-ticket:", agent.body_haystack)
		self.assertTrue(agent.in_reply_to and agent.thread_index)
		self.assertTrue(frappe.db.exists("PT Conversation Message", {"message_id": agent.message_id, "direction": "Outbound"}))

	def test_agent_reply_record_shows_no_threading_tokens(self):
		"""The mail carries the token; the Communication (timeline, portal, quoted history) does not."""
		_, issue, agent_raw = self.open_issue()
		self.assertIn("thread::", parse_message(agent_raw).subject)
		comm = frappe.get_last_doc("Communication", filters={"reference_name": issue, "sent_or_received": "Sent"})
		self.assertEqual(comm.subject, f"Re: {frappe.db.get_value('Issue', issue, 'subject')}")
		self.assertNotIn("thread::", comm.subject + comm.content)
		self.assertNotIn("pt-ticket:", comm.content)
		self.assertIn("A technician is on the way.", comm.content)

	def test_reply_with_in_reply_to(self):
		customer, issue, agent_raw = self.open_issue()
		raw = customer_reply(agent_raw, customer, "Thanks", subject="edited", quote=False)
		self.assert_lands_on(raw, issue, "in_reply_to")

	def test_markup_a_mail_wrote_reaches_the_apps_records_escaped(self):
		"""Frappe's list and report views show Data and Text fields as HTML: what a mail wrote
		reaches the app's records as Frappe's XSS filter leaves it (no script, ids escaped). The decision itself is kept
		as the engine made it ("Why here?" escapes it and still links the Message-ID)."""
		customer = unique_customer()
		first = first_mail(customer, subject='<img src=x onerror="alert(1)">Printer broken')
		receive(first)
		issue = communication_for(parse_message(first).message_id).reference_name
		subject = frappe.db.get_value("PT Conversation", {"reference_name": issue}, "subject")
		self.assertNotIn("onerror", subject)  # as Frappe's XSS filter leaves it
		self.assertIn("Printer broken", subject)
		reply = first_mail(customer, subject="Re: Printer broken", In_Reply_To=f"<{parse_message(first).message_id}>")
		comm = self.assert_lands_on(reply, issue, "in_reply_to")
		decision = frappe.db.get_value("PT Conversation Message", {"communication": comm.name}, "decision")
		self.assertIn(f"<{parse_message(first).message_id}>", json.loads(decision)["evidence"])
		(item,) = [i for i in api.why_here("Issue", issue) if i["communication"] == comm.name]
		self.assertEqual(set(item["links"].values()), {communication_for(parse_message(first).message_id).name})

	def test_a_strangers_threaded_reply_is_a_third_party_not_a_follower(self):
		customer, issue, agent_raw = self.open_issue()
		stranger = unique_customer()
		raw = customer_reply(agent_raw, stranger, "I am not on this ticket", subject="edited", quote=False)
		self.assert_lands_on(raw, issue, "in_reply_to")
		conversation = frappe.db.get_value("PT Conversation", {"reference_name": issue})
		roles = dict(frappe.get_all("PT Conversation Follower", filters={"conversation": conversation},
									fields=["email", "role"], as_list=True))
		self.assertEqual((roles[customer], roles[stranger]), ("Requester", "Third party"))

	def test_header_threading_can_be_switched_off(self):
		customer, issue, agent_raw = self.open_issue()
		settings = frappe.get_single("PT Settings")
		settings.header_threading = 0
		settings.save()
		try:
			raw = customer_reply(agent_raw, customer, "Thanks", subject="edited", quote=False)
			receive(raw)
			comm = communication_for(parse_message(raw).message_id)
			self.assertNotEqual(comm.reference_name, issue)  # tokens only: a new Issue
			row = frappe.get_doc("PT Conversation Message", {"communication": comm.name})
			attempts = {a["rule"]: a["evidence"] for a in json.loads(row.decision)["attempts"]}
			self.assertEqual(attempts["in_reply_to"], "disabled by settings")
			self.assertEqual(attempts["references"], "disabled by settings")
		finally:
			settings.header_threading = 1
			settings.save()
			frappe.db.commit()

	def test_reply_with_only_references(self):
		customer, issue, agent_raw = self.open_issue()
		raw = customer_reply(agent_raw, customer, "Thanks", subject="edited", quote=False, in_reply_to=False)
		self.assert_lands_on(raw, issue, "references")

	def test_reply_with_only_the_subject_token(self):
		customer, issue, agent_raw = self.open_issue()
		raw = customer_reply(agent_raw, customer, "Thanks", quote=False, in_reply_to=False, references=False)
		self.assert_lands_on(raw, issue, "token")

	def test_reply_with_only_the_body_token(self):
		customer, issue, agent_raw = self.open_issue()
		raw = customer_reply(agent_raw, customer, "Thanks", subject="what now", in_reply_to=False, references=False)
		self.assert_lands_on(raw, issue, "token")

	def test_a_customers_reply_record_shows_no_quoted_tokens(self):
		customer, issue, agent_raw = self.open_issue()
		raw = customer_reply(agent_raw, customer, "Thanks", in_reply_to=False, references=False)
		self.assertIn(b"thread::", raw)
		comm = self.assert_lands_on(raw, issue, "token")
		self.assertNotIn("thread::", comm.subject + comm.content)
		self.assertIn("Thanks", comm.content)

	def test_outlook_reply_with_only_thread_index(self):
		customer, issue, agent_raw = self.open_issue()
		raw = customer_reply(agent_raw, customer, "Thanks", subject="RE: other", quote=False,
							 in_reply_to=False, references=False, thread_index=True)
		self.assert_lands_on(raw, issue, "thread_index")

	def test_forged_token_is_not_attached(self):
		customer, issue, agent_raw = self.open_issue()
		genuine = parse_message(agent_raw).subject
		token = genuine.split("thread::")[1][:23]
		forged = token[:-1] + ("a" if token[-1] != "a" else "b")
		raw = customer_reply(agent_raw, unique_customer(), "let me in", subject=f"Re: thread::{forged}::",
							 quote=False, in_reply_to=False, references=False)
		receive(raw)
		comm = communication_for(parse_message(raw).message_id)
		self.assertNotEqual(comm.reference_name, issue)
		row = frappe.get_doc("PT Conversation Message", {"communication": comm.name})
		self.assertIn("signature invalid", row.decision)

	def test_a_received_mail_reads_as_stocks_two_saves_store_it(self):
		"""The app stores a mail without attachments in one insert, its text included (stock
		inserts it bare and saves it again): what the desk shows of it is what stock shows."""
		from email.mime.multipart import MIMEMultipart
		from email.mime.text import MIMEText
		from email.utils import make_msgid

		from frappe.email.receive import InboundMail

		def mail(body, message_id):
			message = body
			message["From"], message["To"] = f"Jos\u00e9 Ortega <{customer}>", INBOX_ADDRESS
			message["Cc"], message["Subject"] = "someone-else@pt-customer.example", "Caf\u00e9 invoices <b>missing</b>"
			message["Message-ID"], message["Date"] = message_id, "Mon, 07 Dec 2026 09:00:00 +0000"
			return message.as_bytes()

		def alternative():
			both = MIMEMultipart("alternative")
			both.attach(MIMEText("Hello,\n\nno invoice prints since www.example.com changed.\n", "plain", "utf-8"))
			both.attach(MIMEText('<p>Hello,</p><p onclick="x()">no invoice <b>prints</b> since '
								 '<a href="https://www.example.com">the change</a>.</p><script>x()</script>',
								 "html", "utf-8"))
			return both

		shown = ["subject", "content", "text_content", "sender", "sender_full_name", "recipients", "cc", "_seen",
				 "communication_date", "sent_or_received", "status", "seen", "has_attachment", "reference_doctype"]
		account = support_inbox()
		for body in (lambda: MIMEText("Hello,\n\nno invoice prints <since> today.\n", "plain", "utf-8"), alternative):
			customer = unique_customer()
			by_app, by_stock = make_msgid(domain="pt-customer.example"), make_msgid(domain="pt-customer.example")
			receive(mail(body(), by_app))
			InboundMail(mail(body(), by_stock), account, append_to="Issue").process()  # stock's own two saves
			app, stock = (communication_for(m.strip("<>")) for m in (by_app, by_stock))
			self.assertEqual({f: app.get(f) for f in shown}, {f: stock.get(f) for f in shown})
			self.assertIn("invoice", app.content)
			self.assertNotIn("<script", app.content)
			self.assertEqual(sorted((link.link_doctype, link.link_name) for link in app.timeline_links
									if link.link_doctype != "Issue"),
							 sorted((link.link_doctype, link.link_name) for link in stock.timeline_links
									if link.link_doctype != "Issue"))
			comments = [json.loads(frappe.db.get_value("Issue", c.reference_name, "_comments") or "[]")
						for c in (app, stock)]
			self.assertEqual([len(c) for c in comments], [1, 1])  # the Issue's comment count in the list view

	def test_duplicate_refetch_stores_one_communication(self):
		customer = unique_customer()
		raw = first_mail(customer)
		receive(raw)
		receive(raw)
		mid = parse_message(raw).message_id
		self.assertEqual(frappe.db.count("Communication", {"message_id": mid}), 1)
		self.assertEqual(frappe.db.count("PT Conversation Message", {"message_id": mid}), 1)

	def test_every_decision_is_on_the_timeline_and_in_why_here(self):
		customer, issue, agent_raw = self.open_issue()
		self.assert_lands_on(customer_reply(agent_raw, customer, "ok", quote=False), issue, "token")
		entries = timeline("Issue", issue)
		self.assertIn("Opened this Issue: a new request", entries)
		self.assertIn("Threaded: the reply carries this conversation's reference", entries)
		self.assertFalse(any("thread::" in e or "@" in e.split(":")[0] for e in entries), entries)  # words, no ids
		why = api.why_here("Issue", issue)
		self.assertEqual([w["direction"] for w in why], ["Inbound", "Outbound", "Inbound"])
		self.assertIn("[MATCH] token", why[-1]["explanation"])
		self.assertIn("thread_index", why[0]["explanation"])

	def test_stock_subject_guess_no_longer_attaches_strangers(self):
		"""Stock threads "Re: <same subject>" from the same sender within 60 days; we do not."""
		customer = unique_customer()
		raw = first_mail(customer, subject="Invoice question 42")
		receive(raw)
		first = communication_for(parse_message(raw).message_id).reference_name
		again = first_mail(customer, subject="Re: Invoice question 42")
		receive(again)
		self.assertNotEqual(communication_for(parse_message(again).message_id).reference_name, first)


class TestWhyHereOverREST(FrappeAPITestCase):
	"""persona_threading.api.why_here: the decisions as JSON, for integrations and the dialog."""

	def test_decisions_in_the_cli_shape_with_links_and_read_permission(self):
		support_inbox()
		customer, issue, first = customer_writes_in()
		original = parse_message(first).message_id
		reply = customer_reply(first, customer, "more details", quote=False)
		receive(reply)
		frappe.db.commit()

		# token auth, not a session: a session cookie would stay in the shared test client
		response = self.get(self.method("persona_threading.api.why_here"), {"doctype": "Issue", "name": issue},
							headers=api_headers("Administrator"))
		self.assertEqual(response.status_code, 200, response.json)
		items = response.json["message"]
		self.assertEqual([i["rule"] for i in items], ["new", "in_reply_to"])
		for key in ("message_id", "action", "conversation", "rule", "evidence", "project", "attempts", "defects",
					"submitted_by", "assigned_to", "direction", "sender", "received_at"):
			self.assertIn(key, items[1])
		self.assertIn({"rule": "in_reply_to", "matched": True}, [{k: a[k] for k in ("rule", "matched")}
																   for a in items[1]["attempts"]])
		self.assertEqual(items[1]["links"], {original: communication_for(original).name})

		outsider = agent("pt-no-issue-access@pt-test.example")
		frappe.get_doc("User", outsider).remove_roles("Support Team")
		frappe.db.commit()
		response = self.get(self.method("persona_threading.api.why_here"), {"doctype": "Issue", "name": issue},
							headers=api_headers(outsider))
		self.assertEqual(response.status_code, 403)


class TestHostileMail(FrappeTestCase):
	def test_html_leaving_a_bold_open_in_paragraph_after_paragraph_is_stored_as_its_text(self):
		"""Frappe's cleaners reopen each unclosed <b> in every later paragraph: 400 of them
		(9 KB) came out as 570 KB of HTML after 3.3 s. The ticket shows the words instead, and
		the routing decision says why (engine.html_weight)."""
		support_inbox()
		message_id = f"<bold-{frappe.generate_hash(length=8)}@pt-customer.example>"
		html_body = '<html><body>' + '<p><b>Diagnostic information</b"Tahoma">' * 400 + "</body></html>"
		raw = (f"From: {unique_customer()}\r\nTo: {INBOX_ADDRESS}\r\nMessage-ID: {message_id}\r\n"
			   "Subject: Delivery has failed\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html_body).encode()
		receive(raw)
		comm = communication_for(message_id.strip("<>"))
		self.assertEqual(comm.reference_doctype, "Issue")
		self.assertIn("Diagnostic information", comm.content)
		self.assertLess(len(comm.content), len(html_body))  # the words, not the cleaners' 570 KB
		row = frappe.get_doc("PT Conversation Message", {"communication": comm.name})
		self.assertIn("formatting elements to reopen) stored as text", row.decision)

	def test_a_bad_charset_label_and_a_pathological_header_become_an_issue_not_an_unhandled_email(self):
		support_inbox()
		customer = unique_customer()
		message_id = f"<hostile-{frappe.generate_hash(length=8)}@pt-customer.example>"
		raw = (f"From: {customer}\r\nTo: {INBOX_ADDRESS}\r\nMessage-ID: {message_id}\r\n"
			   "Subject: =?undefined?q?hello?= =?utf\x00-8?q?world?= printer\r\n"
			   "References: " + " ".join(f"<r{i}@x.example>" for i in range(40000)) + "\r\n"
			   + "Content-Transfer-Encoding: base64\r\n" * 3000
			   + "Content-Type: text/plain; charset=punycode\r\n\r\nThe printer jams.\r\n").encode()
		unhandled_before = frappe.db.count("Unhandled Email")
		receive(raw)
		self.assertEqual(frappe.db.count("Unhandled Email"), unhandled_before)
		comm = communication_for(message_id.strip("<>"))
		self.assertEqual(comm.reference_doctype, "Issue")
		row = frappe.get_doc("PT Conversation Message", {"communication": comm.name})
		self.assertIn("charset", row.decision)  # the decoding problems are defects on the decision
