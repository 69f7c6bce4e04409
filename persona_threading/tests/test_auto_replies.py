"""Automatic replies on a conversation inbox, machine mail, loops, floods and bounces."""

from __future__ import annotations

import email
import uuid
from email.utils import formatdate, make_msgid

import frappe
from frappe.core.doctype.communication.email import make
from frappe.tests.utils import FrappeTestCase

from persona_threading.demo.client import customer_reply, new_mail
from persona_threading.engine.message import parse_message

from .helpers import communication_for, issue_of, receive, support_inbox, timeline, unique_customer

ADDRESS = "answers@pt-test.example"
TEMPLATE = ("<p>Hello {{ issue.customer.customer_name }}, your ticket is {{ issue.name }} "
			"({{ conversation.subject }}).{{ issue.nope }}</p>")


def auto_replies_to(address: str) -> list:
	"""The automatic mails queued for ``address`` (parsed), oldest first."""
	rows = frappe.get_all("Email Queue", filters={"message": ["like", "%Auto-Submitted: auto-replied%"]},
						  fields=["name", "message"], order_by="creation asc")
	mails = [email.message_from_string(r.message) for r in rows]
	return [m for m in mails if address in (m.get("To") or "")]


def with_date(raw: bytes, date: str) -> bytes:
	mail = email.message_from_bytes(raw)
	mail.replace_header("Date", date)
	return mail.as_bytes()


class AutoReplyCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.account = support_inbox("_PT Answers", ADDRESS)
		frappe.db.set_value("Email Account", cls.account.name, {
			"enable_auto_reply": 1, "auto_reply_message": TEMPLATE, "pt_auto_reply_max_age_hours": 48,
			"pt_auto_reply_window_minutes": 60, "pt_auto_reply_per_conversation_per_day": 5})
		frappe.db.commit()

	def setUp(self):
		self.account = frappe.get_doc("Email Account", "_PT Answers")

	def deliver(self, *raws):
		receive(*raws, account=self.account)


class TestAutomaticReply(AutoReplyCase):
	def customer(self) -> str:
		"""A customer with a name, reached through its Contact (so the Issue has a customer)."""
		address = unique_customer()
		name = f"Ada {uuid.uuid4().hex[:6]}"
		customer = frappe.get_doc({"doctype": "Customer", "customer_name": name, "customer_type": "Individual"}).insert(
			ignore_permissions=True)
		frappe.get_doc({"doctype": "Contact", "first_name": "Ada", "email_ids": [{"email_id": address, "is_primary": 1}],
						"links": [{"link_doctype": "Customer", "link_name": customer.name}]}).insert(ignore_permissions=True)
		frappe.db.commit()
		return address, name

	def test_a_new_mail_gets_one_reply_with_merge_codes_and_loop_headers_and_a_reply_gets_none(self):
		address, name = self.customer()
		raw = new_mail(address, ADDRESS, "Printer on fire", "Help")
		self.deliver(raw)
		issue = issue_of(raw)
		replies = auto_replies_to(address)
		self.assertEqual(len(replies), 1)
		reply = replies[0]
		for header, value in (("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All"),
							  ("Precedence", "auto_reply")):
			self.assertEqual(reply.get(header), value)
		self.assertFalse([k for k in reply.keys() if k.lower().startswith("x-frappe-auto")])
		self.assertEqual(reply.get("In-Reply-To"), f"<{parse_message(raw).message_id}>")
		self.assertIn("thread::", reply.get("Subject"))  # carriers: a human answer to it threads
		body = parse_message(reply.as_bytes()).html_body
		self.assertIn(f"Hello {name}, your ticket is {issue} (Printer on fire).", body)
		self.assertNotIn("{{", body)
		self.assertTrue(any("Automatic reply sent" in e and "issue.nope" in e for e in timeline("Issue", issue)))
		self.assertEqual(frappe.db.get_value("Communication", {"reference_name": issue,
																"communication_type": "Automated Message"},
											 "count(*)"), 1)
		# the customer answers the auto-reply: threaded, no second automatic mail
		answer = customer_reply(reply.as_bytes(), address, "More details")
		self.deliver(answer)
		self.assertEqual(issue_of(answer), issue)
		self.assertEqual(len(auto_replies_to(address)), 1)

	def test_out_of_office_opens_nothing_and_gets_nothing(self):
		address = unique_customer()
		raw = new_mail(address, ADDRESS, "Automatic reply: Printer", "I am away", Auto_Submitted="auto-replied")
		self.deliver(raw)
		self.assertFalse(issue_of(raw))
		self.assertEqual(auto_replies_to(address), [])

	def test_a_newsletter_opens_an_issue_without_automatic_reply(self):
		address = unique_customer()
		raw = new_mail(address, ADDRESS, "Our November news", "News", Precedence="bulk",
					   List_Id="<news.shop.example>")
		self.deliver(raw)
		self.assertTrue(issue_of(raw))
		self.assertEqual(auto_replies_to(address), [])
		row = frappe.get_doc("PT Conversation Message", {"communication": communication_for(parse_message(raw).message_id).name})
		self.assertIn('"kind": "bulk"', row.decision)

	def test_mail_older_than_the_cut_off_opens_an_issue_without_automatic_reply(self):
		address = unique_customer()
		raw = with_date(new_mail(address, ADDRESS, "Old one", "From last week"), "Mon, 16 Nov 2026 09:00:00 +0000")
		self.deliver(raw)
		issue = issue_of(raw)
		self.assertTrue(issue)
		self.assertEqual(auto_replies_to(address), [])
		self.assertTrue(any("No automatic reply" in e and "hours old" in e for e in timeline("Issue", issue)))

	def test_switched_off_means_off(self):
		frappe.db.set_value("Email Account", self.account.name, "enable_auto_reply", 0)
		try:
			address = unique_customer()
			self.account = frappe.get_doc("Email Account", self.account.name)
			self.deliver(new_mail(address, ADDRESS, "Anyone?", "Hello"))
			self.assertEqual(auto_replies_to(address), [])
			self.assertFalse(frappe.get_all("Email Queue", filters={"message": ["like", f"%{address}%"]}))
		finally:
			frappe.db.set_value("Email Account", self.account.name, "enable_auto_reply", 1)
			frappe.db.commit()


class TestLoopsAndFloods(AutoReplyCase):
	def test_a_looping_autoresponder_that_strips_headers_ends_by_itself(self):
		"""Lime CRM's loop: the peer's autoresponder answers every mail it gets, stripping every
		header and rewriting the subject. It gets one automatic reply; the exchange stops."""
		peer = unique_customer()
		inbound, issues, answered = new_mail(peer, ADDRESS, "Question", "Hi"), set(), 0
		for round_ in range(5):
			self.deliver(inbound)
			issues.add(issue_of(inbound))
			replies = auto_replies_to(peer)
			if len(replies) == answered:
				break  # we sent nothing new: the peer has nothing to answer, the loop is over
			answered = len(replies)
			inbound = new_mail(peer, ADDRESS, f"Re: your message {round_} {uuid.uuid4().hex[:4]}",
							   "Thank you, we got your mail.")
		self.assertEqual(len(auto_replies_to(peer)), 1)
		self.assertLessEqual(len(issues), 2)

	def test_a_flood_opens_at_most_the_threshold_and_gets_one_automatic_mail(self):
		sender = unique_customer()
		mails = [new_mail(sender, ADDRESS, f"Order {i} {uuid.uuid4().hex[:4]}", "Where is it?") for i in range(50)]
		self.deliver(*mails)
		opened = {issue_of(raw) for raw in mails} - {None, ""}
		self.assertEqual(len(opened), 10)
		queued = frappe.get_all("PT Inbound Queue", filters={"sender": sender}, pluck="evidence")
		self.assertEqual(len(queued), 40)
		self.assertTrue(all("flood guard" in e for e in queued))
		self.assertEqual(len(auto_replies_to(sender)), 1)


class TestBounces(AutoReplyCase):
	def test_a_bounce_of_our_reply_marks_the_participant_and_changes_nothing(self):
		customer = unique_customer()
		raw = new_mail(customer, ADDRESS, "Broken link", "The link is broken")
		self.deliver(raw)
		issue = issue_of(raw)
		make(doctype="Issue", name=issue, subject="Re: Broken link", content="<p>Fixed, please retry.</p>",
			 recipients=customer, sender=ADDRESS, send_email=True)
		ours = frappe.get_last_doc("Email Queue", filters={"reference_name": issue, "message": ["like", "%Fixed, please retry%"]})
		frappe.db.set_value("Issue", issue, "status", "Replied")
		frappe.db.commit()
		dsn = bounce_of(ours.message.encode(), customer)
		self.deliver(dsn)
		self.assertEqual(issue_of(dsn), issue)
		self.assertEqual(frappe.db.get_value("Issue", issue, "status"), "Replied")
		conversation = frappe.db.get_value("PT Conversation", {"reference_name": issue})
		follower = frappe.db.get_value("PT Conversation Follower", {"conversation": conversation, "email": customer},
									   ["delivery_status", "bounce_reason"], as_dict=True)
		self.assertEqual(follower.delivery_status, "Bounced")
		self.assertIn("5.1.1", follower.bounce_reason)
		self.assertTrue(any("bounced" in e and customer in e for e in timeline("Issue", issue)))
		self.assertEqual(auto_replies_to("mailer-daemon@pt-customer.example"), [])


def bounce_of(original: bytes, recipient: str) -> bytes:
	"""An RFC 3464 delivery status notification returning ``original``, as Postfix writes it."""
	head = (f"From: Mail Delivery System <MAILER-DAEMON@pt-customer.example>\r\nTo: {ADDRESS}\r\n"
			f"Subject: Undelivered Mail Returned to Sender\r\nDate: {formatdate()}\r\n"
			f"Message-ID: {make_msgid(domain='pt-customer.example')}\r\nMIME-Version: 1.0\r\n"
			'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"\r\n\r\n'
			"--BOUNDARY\r\nContent-Type: text/plain\r\n\r\n"
			"I'm sorry to have to inform you that your message could not be delivered.\r\n"
			"--BOUNDARY\r\nContent-Type: message/delivery-status\r\n\r\n"
			"Reporting-MTA: dns; mx.pt-customer.example\r\n\r\n"
			f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
			"Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
			"--BOUNDARY\r\nContent-Type: message/rfc822\r\n\r\n")
	return head.encode() + original.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n--BOUNDARY--\r\n"


class TestStockTemplates(FrappeTestCase):
	"""Templates written for stock Frappe keep working; one that cannot render is refused."""

	PROTIP = ("<p>Reference: {{ reference_doctype }} {{ reference_name }}</p>"
			  "{% if subject %}<p>About: {{ subject }}</p>{% else %}<p>No subject</p>{% endif %}"
			  "<p>Hello {{ issue.raised_by }}</p>")

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.address = "templates@pt-test.example"
		support_inbox("_PT Templates", cls.address)
		frappe.db.set_value("Email Account", "_PT Templates", "enable_auto_reply", 1)
		frappe.db.commit()

	def account(self, template):
		account = frappe.get_doc("Email Account", "_PT Templates")
		account.auto_reply_message = template
		return account

	def test_the_fields_own_protip_renders_with_the_mails_fields_and_jinja_blocks(self):
		self.account(self.PROTIP).save()
		customer = unique_customer()
		raw = new_mail(customer, self.address, "Fax <broken> & more", "Help")
		receive(raw, account=frappe.get_doc("Email Account", "_PT Templates"))
		issue = issue_of(raw)
		body = parse_message(auto_replies_to(customer)[0].as_bytes()).html_body
		self.assertIn(f"Reference: Issue {issue}", body)
		self.assertIn("About: Fax &lt;broken&gt; &amp; more", body)  # the customer's text is text, not markup
		self.assertIn(f"Hello {customer}", body)
		self.assertNotIn("{%", body)
		self.assertNotIn("No subject", body)

	def test_a_template_that_cannot_render_is_refused_on_save_with_the_error(self):
		from persona_threading.frappe_adapter.merge_codes import TemplateError

		for template, says in (("{% if subject %}<p>Open block</p>", "cannot be rendered"),
							   ("<p>Dear {{ customer_name }}</p>", "{{ customer_name }}"),
							   ("<p>{{ subject.nope() }}</p>", "cannot be rendered"),
							   ("<p>{{ issue.__class__ }}</p>", "illegal")):
			with self.subTest(template=template):
				with self.assertRaises(TemplateError) as refused:
					self.account(template).save()
				self.assertIn(says, str(refused.exception))
		frappe.db.rollback()

	def test_a_template_broken_later_is_never_mailed_and_the_ticket_says_why(self):
		frappe.db.set_value("Email Account", "_PT Templates", "auto_reply_message", "{% if subject %}open")
		frappe.db.commit()
		try:
			customer = unique_customer()
			raw = new_mail(customer, self.address, "Anyone?", "Hello")
			receive(raw, account=frappe.get_doc("Email Account", "_PT Templates"))
			self.assertEqual(auto_replies_to(customer), [])
			self.assertTrue(any("No automatic reply" in e and "cannot be rendered" in e
								for e in timeline("Issue", issue_of(raw))))
		finally:
			frappe.db.set_value("Email Account", "_PT Templates", "auto_reply_message", self.PROTIP)
			frappe.db.commit()

	def test_a_template_saved_before_install_that_cannot_render_is_told_to_the_system_managers(self):
		"""Stock saved it (an unknown name renders as nothing there); the app refuses it, so
		after install or migrate the bell says which inbox stopped answering and why, once."""
		from persona_threading.frappe_adapter import install

		subject = "The automatic reply of Email Account _PT Templates cannot be rendered"
		notices = lambda: frappe.get_all("Notification Log", filters={"subject": subject, "read": 0},  # noqa: E731
										 fields=["for_user", "email_content", "document_type", "document_name"])
		frappe.db.delete("Notification Log", {"subject": subject})
		frappe.db.set_value("Email Account", "_PT Templates", "auto_reply_message", "<p>Dear {{ customer_name }}</p>")
		frappe.db.commit()
		try:
			install.after_migrate()
			told = {n.for_user: n for n in notices()}
			self.assertIn("Administrator", told)  # every System Manager
			notice = told["Administrator"]
			self.assertEqual((notice.document_type, notice.document_name), ("Email Account", "_PT Templates"))
			self.assertIn("{{ customer_name }}", notice.email_content)
			self.assertIn("No automatic reply is sent from this inbox", notice.email_content)
			install.after_migrate()  # the next migrate does not say it again while it is unread
			self.assertEqual(len(notices()), len(told))
		finally:
			frappe.db.set_value("Email Account", "_PT Templates", "auto_reply_message", self.PROTIP)
			frappe.db.delete("Notification Log", {"subject": subject})
			frappe.db.commit()
		install.after_migrate()  # a template that renders: nothing to tell
		self.assertEqual(notices(), [])

	def test_the_default_text_names_the_ticket_and_asks_nothing_the_app_contradicts(self):
		frappe.db.set_value("Email Account", "_PT Templates", "auto_reply_message", "")
		frappe.db.commit()
		customer = unique_customer()
		raw = new_mail(customer, self.address, "Default please", "Hello")
		receive(raw, account=frappe.get_doc("Email Account", "_PT Templates"))
		body = parse_message(auto_replies_to(customer)[0].as_bytes()).html_body
		self.assertIn(issue_of(raw), body)
		self.assertNotIn("in the subject", body)

	def test_the_field_lists_the_merge_codes(self):
		description = frappe.get_meta("Email Account").get_field("auto_reply_message").description
		for code in ("{{ reference_name }}", "{{ issue.customer.customer_name }}", "{{ conversation.subject }}"):
			self.assertIn(code, description)
