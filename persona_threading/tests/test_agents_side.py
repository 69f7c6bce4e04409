"""The agents' side of a conversation (issue 20), through the real receive() and the Issue's
reply: notes change no status, an agent's response defines the CCs, customers get every
public message and followers every message once, mail we send threads, routing internals
stay with desk users, and the flood guard never counts agents."""

from __future__ import annotations

import email
import json
import uuid

import frappe
from frappe.core.doctype.communication.email import make
from frappe.tests.test_api import FrappeAPITestCase
from frappe.tests.utils import FrappeTestCase

from persona_threading.demo.client import customer_reply, new_mail
from persona_threading.engine.message import parse_message

from .helpers import (INBOX_ADDRESS, agent, api_headers, communication_for, issue_of, receive, support_inbox, timeline,
					  unique_customer)

AGENT = "pt-side-agent@pt-test.example"
COLLEAGUE = "pt-side-colleague@pt-test.example"
FOLLOWER = "pt-side-follower@pt-test.example"
LIGHT = "pt-side-light@pt-test.example"
WEBSITE_USER = "pt-side-portal@pt-customer.example"  # fixed: Frappe throttles creating users
ANSWERING = "side-answers@pt-test.example"  # an inbox with its automatic reply on


def answer(sender: str, to: str, text: str, first: bytes, cc: str = "") -> bytes:
	"""A reply to the first mail of the conversation by email (threads by In-Reply-To)."""
	headers = {"In_Reply_To": f"<{parse_message(first).message_id}>"}
	if cc:
		headers["Cc"] = cc
	return new_mail(sender, to, "Re: printer", text, **headers)


def mails_to(address: str) -> list[email.message.Message]:
	"""Every mail queued for ``address`` (Email Queue, any status), parsed, oldest first."""
	names = frappe.get_all("Email Queue Recipient", filters={"recipient": address}, pluck="parent",
						   order_by="creation asc")
	return [email.message_from_string(frappe.db.get_value("Email Queue", n, "message") or "") for n in names]


def text_of(mail) -> str:
	return parse_message(mail.as_bytes()).text


def html_of(mail) -> str:
	"""The mail's HTML part, decoded (quoted-printable would split a token across lines)."""
	return "".join(part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
				   for part in mail.walk() if part.get_content_type() == "text/html")


def website_user() -> str:
	"""A customer with a portal login (created once)."""
	if not frappe.db.exists("User", WEBSITE_USER):
		frappe.get_doc({"doctype": "User", "email": WEBSITE_USER, "first_name": "Portal",
						"user_type": "Website User", "send_welcome_email": 0}).insert(ignore_permissions=True)
	return WEBSITE_USER


class SideCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		support_inbox()
		for user in (AGENT, COLLEAGUE, FOLLOWER, LIGHT):
			agent(user)
		frappe.get_doc("User", LIGHT).add_roles("PT Light Agent")
		frappe.db.commit()

	def conversation(self, cc: bool = True):
		"""A customer's mail with a CC: (requester, cc, first mail, Issue, conversation)."""
		requester, copied = unique_customer(), unique_customer() if cc else ""
		first = new_mail(requester, INBOX_ADDRESS, f"Printer broken {uuid.uuid4().hex[:6]}", "It jams.",
						 **({"Cc": copied} if cc else {}))
		receive(first)
		issue = issue_of(first)
		return requester, copied, first, issue, frappe.db.get_value("PT Conversation", {"reference_name": issue})

	def people(self, conversation) -> dict:
		return {r.email: (r.role, r.active) for r in frappe.get_all(
			"PT Conversation Follower", filters={"conversation": conversation}, fields=["email", "role", "active"])}

	def status(self, issue, status: str | None = None) -> str:
		if status:
			frappe.db.set_value("Issue", issue, "status", status)
			frappe.db.commit()
		return frappe.db.get_value("Issue", issue, "status")

	def assert_carries_the_thread(self, mail, conversation):
		"""This conversation's token in the body and in the hidden tag (a reply that quotes
		either threads back, also with the subject token switched off)."""
		from persona_threading.engine.carriers import THREAD_TOKEN_RE, TICKET_TAG_RE
		from persona_threading.frappe_adapter import settings, store

		token = settings.keyring().token(store.thread_state(conversation)["key"])
		html = html_of(mail)
		self.assertIn(token, THREAD_TOKEN_RE.findall(html), "body token")
		self.assertIn(token, TICKET_TAG_RE.findall(html), "hidden tag")

	def visibility(self, raw) -> str:
		comm = communication_for(parse_message(raw).message_id)
		return frappe.db.get_value("PT Conversation Message", {"communication": comm.name}, "visibility")

	def reply_from_the_issue(self, issue, to, cc="", text="<p>On it.</p>", user=None) -> str:
		frappe.set_user(user or "Administrator")
		try:
			return make(doctype="Issue", name=issue, subject="Re: Printer broken", content=text, recipients=to,
						cc=cc, sender=INBOX_ADDRESS, send_email=True)["name"]
		finally:
			frappe.set_user("Administrator")


# -- 1: notes, followers' and third parties' mail change no status ------------------------------


class TestOnlyCustomersChangeTheStatus(SideCase):
	def test_an_agents_note_by_email_leaves_an_issue_awaiting_input_and_says_why(self):
		requester, _, first, issue, _ = self.conversation()
		self.status(issue, "Replied")
		receive(answer(AGENT, INBOX_ADDRESS, "Internal: waiting for the vendor", first))
		self.assertEqual(self.status(issue), "Replied")
		self.assertTrue(any("status left Replied: the agent&#x27;s private mail" in e for e in timeline("Issue", issue)))
		receive(answer(requester, INBOX_ADDRESS, "Here are the logs.", first))
		self.assertEqual(self.status(issue), "Open")  # the customer's reply still resumes it

	def test_an_agents_note_on_a_closed_issue_opens_no_new_issue_and_gets_no_auto_reply(self):
		answering = support_inbox("_PT Side Answers", ANSWERING)
		answering.db_set("enable_auto_reply", 1)
		frappe.db.commit()
		first = new_mail(unique_customer(), ANSWERING, "Scanner broken", "It jams.")
		receive(first, account=answering)
		issue = issue_of(first)
		self.status(issue, "Closed")
		opened, answered = frappe.db.count("Issue"), frappe.db.count("PT Automatic Mail", {"recipient": AGENT})
		note = answer(AGENT, ANSWERING, "Internal: closing remark", first)
		receive(note, account=answering)
		self.assertEqual(issue_of(note), issue)
		self.assertEqual(frappe.db.count("Issue"), opened)
		self.assertEqual(self.status(issue), "Closed")
		self.assertEqual(frappe.db.count("PT Automatic Mail", {"recipient": AGENT}), answered)
		self.assertTrue(any("status left Closed: the agent&#x27;s private mail" in e for e in timeline("Issue", issue)))

	def test_a_third_partys_private_reply_and_a_followers_note_reopen_nothing(self):
		_, _, first, issue, _ = self.conversation()
		from persona_threading import api

		api.set_participant("Issue", issue, FOLLOWER, "Follower", 1)
		self.status(issue, "Resolved")
		receive(answer(unique_customer(), INBOX_ADDRESS, "It is broken for me too", first))
		receive(answer(FOLLOWER, INBOX_ADDRESS, "Internal: checked the logs", first))
		self.assertEqual(self.status(issue), "Resolved")
		entries = timeline("Issue", issue)
		self.assertTrue(any("the third party&#x27;s private mail" in e for e in entries))
		# the follower is an agent of the helpdesk: the row names the role their mail counts as
		self.assertTrue(any("status left Resolved: the agent&#x27;s private mail is no customer&#x27;s reply" in e
							for e in entries), entries)

	def test_a_thank_you_while_awaiting_input_resumes_the_issue(self):
		"""Gratitude keeps a resolved ticket resolved; awaiting input, any reply is input."""
		requester, _, first, issue, _ = self.conversation()
		self.status(issue, "Replied")
		receive(answer(requester, INBOX_ADDRESS, "Thanks a lot!", first))
		self.assertEqual(self.status(issue), "Open")


# -- 5: References name only what the recipient could see --------------------------------------


class TestThreadingHeadersOfCustomerMail(SideCase):
	def test_a_reply_from_the_issue_never_names_private_messages(self):
		requester, _, first, issue, _ = self.conversation()
		stranger = answer(unique_customer(), INBOX_ADDRESS, "Me too", first)
		note = answer(AGENT, INBOX_ADDRESS, "Internal: VIP customer", first)
		receive(stranger, note)
		self.reply_from_the_issue(issue, requester, text="<p>A technician comes today.</p>")
		sent = [m for m in mails_to(requester) if "technician" in text_of(m)]
		self.assertEqual(len(sent), 1)
		named = f"{sent[0].get('In-Reply-To')} {sent[0].get('References')}"
		self.assertIn(parse_message(first).message_id, named)
		for private in (stranger, note):
			self.assertNotIn(parse_message(private).message_id, named)


# -- 9: the flood guard ----------------------------------------------------------------------


class TestFloodGuardAndAgents(SideCase):
	def test_an_agent_forwarding_eleven_customer_mails_opens_eleven_issues(self):
		forwards = []
		for number in range(11):
			body = (f"Please handle.\n\n---------- Forwarded message ---------\nFrom: Someone <{unique_customer()}>\n"
					f"Subject: Order {number}\nTo: {COLLEAGUE}\n\nWhere is order {number}?")
			forwards.append(new_mail(COLLEAGUE, INBOX_ADDRESS, f"Fwd: Order {number} {uuid.uuid4().hex[:4]}", body))
		receive(*forwards)
		self.assertEqual(len({issue_of(raw) for raw in forwards} - {None, ""}), 11)  # none waits in the queue


# -- 2: the agent's response defines the CCs -------------------------------------------------


class TestAgentsResponseDefinesTheCCs(SideCase):
	def test_a_cc_left_off_a_reply_from_the_issue_becomes_inactive_and_can_be_added_back(self):
		from persona_threading import api

		requester, cc, _, issue, conversation = self.conversation()
		self.reply_from_the_issue(issue, requester)
		self.assertEqual(self.people(conversation)[cc], ("CC", 0))
		self.assertTrue(any(f"{cc} removed as CC: the agent&#x27;s response" in e for e in timeline("Issue", issue)))
		self.assertEqual(api.reply_recipients("Issue", issue), {"to": [requester], "cc": [], "inactive": [cc]})
		api.set_participant("Issue", issue, cc, "CC", 1)  # reversible from the panel
		self.assertEqual(self.people(conversation)[cc], ("CC", 1))

	def test_an_agents_reply_all_by_email_that_leaves_a_cc_off_removes_them(self):
		requester, cc, first, _, conversation = self.conversation()
		receive(answer(AGENT, requester, "We are on it", first, cc=INBOX_ADDRESS))
		self.assertEqual(self.people(conversation)[cc], ("CC", 0))


# -- 3: customers get every public message ---------------------------------------------------


class TestPublicRepliesReachTheCustomers(SideCase):
	def test_a_ccs_reply_to_the_helpdesk_is_relayed_to_the_requester_and_the_other_cc_once(self):
		requester, cc, first, issue, conversation = self.conversation()
		other = unique_customer()
		receive(answer(requester, INBOX_ADDRESS, "Adding a colleague", first, cc=f"{cc}, {other}"))
		before = {a: len(mails_to(a)) for a in (requester, cc, other)}
		receive(answer(cc, INBOX_ADDRESS, "The printer in room 12 jams too", first))
		for address in (requester, other):
			relayed = [m for m in mails_to(address)[before[address]:] if "room 12" in text_of(m)]
			self.assertEqual(len(relayed), 1, address)
			self.assertIn("thread::", relayed[0]["Subject"] + text_of(relayed[0]))
			self.assertIn(parse_message(first).message_id, relayed[0]["References"] or "")
		self.assertEqual(mails_to(cc)[before[cc]:], [])  # never to its author

	def test_a_third_partys_private_reply_is_relayed_to_nobody(self):
		requester, _, first, _, _ = self.conversation()
		before = len(mails_to(requester))
		receive(answer(unique_customer(), INBOX_ADDRESS, "A stranger writes", first))
		self.assertEqual(len(mails_to(requester)), before)


# -- 4: agents follow ------------------------------------------------------------------------


class TestAgentsFollow(SideCase):
	def test_an_agent_who_replies_from_the_issue_follows_and_hears_of_the_customers_answer(self):
		requester, cc, first, issue, conversation = self.conversation()
		self.reply_from_the_issue(issue, requester, cc=cc, user=AGENT)
		self.assertEqual(self.people(conversation)[AGENT], ("Follower", 1))
		said = f"The technician can come at 3 ({uuid.uuid4().hex})"
		receive(answer(requester, INBOX_ADDRESS, said, first, cc=cc))
		self.assertEqual(len([m for m in mails_to(AGENT) if said in text_of(m)]), 1)

	def test_an_agent_who_wrote_by_email_is_notified_and_can_be_followed_or_unfollowed(self):
		from persona_threading import api

		requester, cc, first, issue, conversation = self.conversation()
		receive(answer(AGENT, INBOX_ADDRESS, "Internal: I take this one", first))
		self.assertEqual(self.people(conversation)[AGENT], ("Agent", 1))
		said = f"Any news? ({uuid.uuid4().hex})"
		receive(answer(requester, INBOX_ADDRESS, said, first, cc=cc))
		self.assertEqual(len([m for m in mails_to(AGENT) if said in text_of(m)]), 1)
		api.set_participant("Issue", issue, AGENT, "Follower", 1)  # refused before: "is the Agent"
		self.assertEqual(self.people(conversation)[AGENT], ("Follower", 1))
		api.set_participant("Issue", issue, AGENT, "Follower", 0)
		said = f"Hello again? ({uuid.uuid4().hex})"
		receive(answer(requester, INBOX_ADDRESS, said, first, cc=cc))
		self.assertEqual([m for m in mails_to(AGENT) if said in text_of(m)], [])


# -- 7: mail to followers and new CCs threads ------------------------------------------------


class TestNotificationsThread(SideCase):
	def setUp(self):
		super().setUp()
		frappe.db.set_single_value("PT Settings", "stamp_subject_token", 0)
		frappe.db.commit()
		self.addCleanup(frappe.db.commit)
		self.addCleanup(frappe.db.set_single_value, "PT Settings", "stamp_subject_token", 1)

	def test_a_followers_reply_to_a_notification_threads_without_the_subject_token(self):
		from persona_threading import api

		requester, cc, first, issue, conversation = self.conversation()
		api.set_participant("Issue", issue, FOLLOWER, "Follower", 1)
		said = f"The paper tray is stuck ({uuid.uuid4().hex})"
		receive(answer(requester, INBOX_ADDRESS, said, first, cc=cc))
		notices = [m for m in mails_to(FOLLOWER) if said in text_of(m)]
		self.assertEqual(len(notices), 1)
		notice = notices[0]
		self.assertIn(parse_message(first).message_id, notice["References"] or "")
		self.assert_carries_the_thread(notice, conversation)
		reply = customer_reply(notice.as_bytes(), FOLLOWER, "Internal: I will check the tray", quote=False,
							   to=INBOX_ADDRESS)
		receive(reply)
		self.assertEqual(issue_of(reply), issue)

	def test_the_history_mail_to_a_new_cc_carries_the_threads_headers(self):
		requester, _, first, issue, conversation = self.conversation(cc=False)
		colleague = unique_customer()
		receive(answer(requester, INBOX_ADDRESS, "Adding my colleague", first, cc=colleague))
		history = [m for m in mails_to(colleague) if "It jams." in text_of(m)]
		self.assertEqual(len(history), 1)
		self.assertIn(parse_message(first).message_id, history[0]["References"] or "")
		self.assert_carries_the_thread(history[0], conversation)
		reply = customer_reply(history[0].as_bytes(), colleague, "I see it too", quote=False, to=INBOX_ADDRESS)
		receive(reply)
		self.assertEqual(issue_of(reply), issue)


# -- 8: notes written in the desk ------------------------------------------------------------


class TestDeskNotes(SideCase):
	def test_a_note_in_the_comment_box_reaches_the_followers_once_never_the_customers(self):
		from frappe.desk.form.utils import add_comment

		from persona_threading import api

		requester, cc, _, issue, _ = self.conversation()
		api.set_participant("Issue", issue, FOLLOWER, "Follower", 1)
		api.set_participant("Issue", issue, LIGHT, "Follower", 1)
		frappe.db.commit()
		said = uuid.uuid4().hex
		frappe.set_user(LIGHT)  # a light agent's desk way to write to the followers
		try:
			add_comment("Issue", issue, f"<p>Internal: the toner is on backorder ({said})</p>", LIGHT, "Light")
		finally:
			frappe.set_user("Administrator")
		self.assertEqual(len([m for m in mails_to(FOLLOWER) if said in text_of(m)]), 1)
		self.assertEqual([m for m in mails_to(LIGHT) if said in text_of(m)], [])  # its author
		for customer in (requester, cc):
			self.assertEqual([m for m in mails_to(customer) if said in text_of(m)], [])

	def test_a_customers_portal_comment_is_no_internal_note_an_agents_desk_comment_is(self):
		from frappe.desk.form.utils import add_comment

		from persona_threading import api

		_, _, _, issue, _ = self.conversation()
		api.set_participant("Issue", issue, FOLLOWER, "Follower", 1)
		frappe.db.commit()
		portal, desk = uuid.uuid4().hex, uuid.uuid4().hex
		frappe.set_user(website_user())  # what ERPNext's portal comment box does (Document.add_comment)
		try:
			frappe.get_doc("Issue", issue).add_comment(text=f"<p>Any news? ({portal})</p>", comment_by="Portal")
		finally:
			frappe.set_user("Administrator")
		frappe.set_user(AGENT)
		try:
			add_comment("Issue", issue, f"<p>Internal: vendor called back ({desk})</p>", AGENT, "Agent")
		finally:
			frappe.set_user("Administrator")
		self.assertEqual([m for m in mails_to(FOLLOWER) if portal in text_of(m)], [])
		notes = [m for m in mails_to(FOLLOWER) if desk in text_of(m)]
		self.assertEqual(len(notes), 1)
		self.assertIn("Internal note", notes[0]["Subject"] or "")


# -- 10: the admin's and the agent's tools ----------------------------------------------------


class TestAdminAndAgentTools(SideCase):
	def test_ccs_by_email_switched_off_adds_nobody_by_mail_but_the_panel_still_does(self):
		from persona_threading import api

		frappe.db.set_single_value("PT Settings", "ccs_by_email", 0)
		frappe.db.commit()
		self.addCleanup(frappe.db.commit)
		self.addCleanup(frappe.db.set_single_value, "PT Settings", "ccs_by_email", 1)
		requester, _, first, issue, conversation = self.conversation(cc=False)
		colleague = unique_customer()
		receive(answer(requester, INBOX_ADDRESS, "Adding my colleague", first, cc=colleague))
		self.assertNotIn(colleague, self.people(conversation))
		self.assertTrue(any("CCs by email are switched off" in e for e in timeline("Issue", issue)))
		api.set_participant("Issue", issue, colleague, "CC", 1)
		self.assertEqual(self.people(conversation)[colleague], ("CC", 1))

	def test_a_cc_added_from_the_panel_gets_the_public_history_once(self):
		from persona_threading import api

		requester, _, first, issue, _ = self.conversation(cc=False)
		receive(answer(AGENT, INBOX_ADDRESS, "Internal: a very important person", first))
		colleague = unique_customer()
		api.set_participant("Issue", issue, colleague, "CC", 1)
		api.set_participant("Issue", issue, colleague, "CC", 0)
		api.set_participant("Issue", issue, colleague, "CC", 1)  # back again: no second history
		history = [m for m in mails_to(colleague) if "It jams." in text_of(m)]
		self.assertEqual(len(history), 1)
		self.assertNotIn("very important person", text_of(history[0]))

	def test_an_agent_makes_a_customers_public_mail_an_internal_note(self):
		from persona_threading import api

		requester, _, first, issue, _ = self.conversation()
		leak = answer(requester, INBOX_ADDRESS, "My password is hunter2", first)
		receive(leak)
		comm = communication_for(parse_message(leak).message_id).name
		frappe.set_user(AGENT)
		try:
			api.make_internal(comm)
		finally:
			frappe.set_user("Administrator")
		self.assertEqual(self.visibility(leak), "Private")
		self.assertTrue(any("made an internal note" in e for e in timeline("Issue", issue)))
		sent = self.reply_from_the_issue(issue, requester)
		self.assertRaises(frappe.ValidationError, api.make_internal, sent)  # our own reply: not this way

	def notify_on_status_change(self, issue, choice: str) -> str:
		"""An admin's Notification on Issue status changes emailing the conversation's ``choice``;
		the status changes once. Returns the marker in the mail's subject."""
		marker = uuid.uuid4().hex
		alert = frappe.get_doc({"doctype": "Notification", "name": f"PT side {marker}", "subject": f"Status {marker}",
								"document_type": "Issue", "event": "Value Change", "value_changed": "status",
								"channel": "Email", "message": f"<p>Your ticket is now {{{{ doc.status }}}} {marker}</p>",
								"pt_conversation_recipients": choice, "enabled": 1}).insert(ignore_permissions=True)
		self.addCleanup(frappe.delete_doc, "Notification", alert.name, ignore_permissions=True, force=True)
		doc = frappe.get_doc("Issue", issue)
		doc.status = "Replied"
		doc.save(ignore_permissions=True)
		return marker

	def test_a_notification_emails_the_requester_and_active_ccs_as_the_admin_chose(self):
		requester, cc, first, issue, _ = self.conversation()
		dropped = unique_customer()
		receive(answer(requester, INBOX_ADDRESS, "Adding a colleague", first, cc=f"{cc}, {dropped}"))
		receive(answer(requester, INBOX_ADDRESS, "Without them after all", first, cc=cc))  # dropped: inactive
		marker = self.notify_on_status_change(issue, "Requester and CCs")
		mails = [m for m in mails_to(requester) if marker in (m["Subject"] or "")]
		self.assertEqual(len(mails), 1)
		self.assertIn(cc, mails[0]["Cc"] or "")
		self.assertEqual([m for m in mails_to(dropped) if marker in (m["Subject"] or "")], [])
		# RFC 3834: a notification answers no message (the inbox's automatic reply is auto-replied)
		self.assertEqual(mails[0]["Auto-Submitted"], "auto-generated")

	def test_a_notification_to_the_requester_only_leaves_the_ccs_out(self):
		requester, cc, _, issue, _ = self.conversation()
		marker = self.notify_on_status_change(issue, "Requester")
		mails = [m for m in mails_to(requester) if marker in (m["Subject"] or "")]
		self.assertEqual(len(mails), 1)
		self.assertNotIn(cc, f"{mails[0]['To']} {mails[0]['Cc'] or ''}")
		self.assertEqual([m for m in mails_to(cc) if marker in (m["Subject"] or "")], [])

	def test_the_conversation_follows_its_issues_project(self):
		from .helpers import project

		_, _, _, issue, conversation = self.conversation()
		moved = project("SIDE")
		doc = frappe.get_doc("Issue", issue)
		doc.project = moved
		doc.save(ignore_permissions=True)
		self.assertEqual(frappe.db.get_value("PT Conversation", conversation, "project"), moved)


# -- 6: routing internals over REST -----------------------------------------------------------


class TestRoutingInternalsOverREST(FrappeAPITestCase):
	"""A website user the Issue is shared with reads their ticket on the portal, never how it
	is routed: who follows it, third parties' addresses, warnings and evidence."""

	def test_website_users_get_403_and_desk_agents_200(self):
		support_inbox()
		agent(AGENT)
		website_user()
		first = new_mail(WEBSITE_USER, INBOX_ADDRESS, "Portal printer", "It jams.", Cc=unique_customer())
		receive(first)
		issue = issue_of(first)
		receive(answer(unique_customer(), INBOX_ADDRESS, "A stranger writes", first))
		frappe.share.add_docshare("Issue", issue, WEBSITE_USER, read=1, notify=0,
								  flags={"ignore_share_permission": True})
		frappe.db.commit()
		self.assertTrue(frappe.has_permission("Issue", "read", doc=issue, user=WEBSITE_USER))  # stock: shared
		methods = ("why_here", "conversation_participants", "reply_recipients")
		outsider, desk = api_headers(WEBSITE_USER), api_headers(AGENT)
		for method in methods:
			args = {"doctype": "Issue", "name": issue}
			refused = self.get(self.method(f"persona_threading.api.{method}"), args, headers=outsider)
			self.assertEqual(refused.status_code, 403, f"{method}: {refused.text[-500:]}")
			self.assertNotIn("stranger", json.dumps(refused.json))
			served = self.get(self.method(f"persona_threading.api.{method}"), args, headers=desk)
			self.assertEqual(served.status_code, 200, f"{method}: {served.text[-500:]}")

	def test_a_website_user_with_a_write_share_changes_no_participant(self):
		"""Adding people, following, making a third party's reply public: desk users only, also
		when the customer's share would let them write the Issue (403, nothing changed)."""
		support_inbox()
		agent(AGENT)
		website_user()
		first = new_mail(WEBSITE_USER, INBOX_ADDRESS, "Portal scanner", "It jams.")
		receive(first)
		issue = issue_of(first)
		stranger = unique_customer()
		receive(answer(stranger, INBOX_ADDRESS, "A stranger writes", first))
		conversation = frappe.db.get_value("PT Conversation", {"reference_name": issue})
		warning = frappe.db.get_value("PT Conversation Message", {"conversation": conversation, "sender": stranger})
		frappe.share.add_docshare("Issue", issue, WEBSITE_USER, read=1, write=1, notify=0,
								  flags={"ignore_share_permission": True})
		frappe.db.commit()
		self.assertTrue(frappe.has_permission("Issue", "write", doc=issue, user=WEBSITE_USER))  # stock: shared
		outsider, desk = api_headers(WEBSITE_USER), api_headers(AGENT)
		colleague = unique_customer()
		edits = (("set_participant", {"email": colleague, "role": "CC", "active": 1}),
				 ("resolve_third_party", {"message": warning, "action": "make_public"}))
		for method, args in edits:
			refused = self.post(self.method(f"persona_threading.api.{method}"),
								{"doctype": "Issue", "name": issue, **args}, headers=outsider)
			self.assertEqual(refused.status_code, 403, f"{method}: {refused.text[-500:]}")
		frappe.db.rollback()
		people = frappe.get_all("PT Conversation Follower", filters={"conversation": conversation}, pluck="email")
		self.assertNotIn(colleague, people)
		self.assertEqual(frappe.db.get_value("PT Conversation Message", warning, ["visibility", "warning_resolved"]),
						 ("Private", 0))
		served = self.post(self.method("persona_threading.api.set_participant"),
						   {"doctype": "Issue", "name": issue, "email": colleague, "role": "CC", "active": 1}, headers=desk)
		self.assertEqual(served.status_code, 200, served.text[-500:])
