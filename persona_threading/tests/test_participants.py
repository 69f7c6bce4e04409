"""Participants in the bench: CCs by email, the removal rule, light agents, the blocklist,
public replies vs internal notes, third parties, and private messages kept off the portal."""

from __future__ import annotations

import json

import frappe
from frappe.tests.test_api import FrappeAPITestCase
from frappe.tests.utils import FrappeTestCase

from persona_threading.demo.client import new_mail
from persona_threading.engine.message import parse_message
from persona_threading.frappe_adapter import privacy
from persona_threading.frappe_adapter.timeline import routing_lines

from .helpers import (INBOX_ADDRESS, agent, api_headers, communication_for, issue_of, receive, support_inbox, timeline,
					  unique_customer)

AGENT = "pt-part-agent@pt-test.example"
LIGHT = "pt-part-light@pt-test.example"
PORTAL = "pt-portal-customer@pt-customer.example"  # fixed: Frappe throttles creating users


def reply(sender: str, to: str, cc: str, text: str, first: bytes) -> bytes:
	"""A reply to the first mail of the conversation (threads by In-Reply-To)."""
	headers = {"In_Reply_To": f"<{parse_message(first).message_id}>"}
	if cc:
		headers["Cc"] = cc
	return new_mail(sender, to, "Re: printer", text, **headers)


class ParticipantsCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		support_inbox()
		agent(AGENT)
		agent(LIGHT)
		frappe.get_doc("User", LIGHT).add_roles("PT Light Agent")
		frappe.db.commit()

	def conversation_with_cc(self, requester: str | None = None):
		requester, cc = requester or unique_customer(), unique_customer()
		first = new_mail(requester, INBOX_ADDRESS, "Printer broken", "It jams.", Cc=cc)
		receive(first)
		issue = issue_of(first)
		conversation = frappe.db.get_value("PT Conversation", {"reference_name": issue})
		return requester, cc, first, issue, conversation

	def people(self, conversation) -> dict:
		return {r.email: (r.role, r.active) for r in frappe.get_all(
			"PT Conversation Follower", filters={"conversation": conversation}, fields=["email", "role", "active"])}

	def visibility(self, raw) -> str:
		comm = communication_for(parse_message(raw).message_id)
		return frappe.db.get_value("PT Conversation Message", {"communication": comm.name}, "visibility")


class TestParticipants(ParticipantsCase):
	def test_everyone_on_the_first_mail_joins_and_the_inbox_never_does(self):
		requester, cc, _, _, conversation = self.conversation_with_cc()
		people = self.people(conversation)
		self.assertEqual(people, {requester: ("Requester", 1), cc: ("CC", 1)})

	def test_one_row_per_address_per_conversation(self):
		requester, cc, first, _, conversation = self.conversation_with_cc()
		receive(reply(requester, INBOX_ADDRESS, cc.upper(), "Still both of us", first))
		self.assertEqual(frappe.db.count("PT Conversation Follower", {"conversation": conversation}), 2)
		twice = frappe.get_doc({"doctype": "PT Conversation Follower", "conversation": conversation, "email": cc,
								"role": "CC", "active": 1})
		self.assertRaises(frappe.UniqueValidationError, twice.insert, ignore_permissions=True)
		frappe.clear_last_message()

	def test_a_plain_reply_by_the_requester_drops_the_cc_and_naming_them_again_brings_them_back(self):
		requester, cc, first, issue, conversation = self.conversation_with_cc()
		receive(reply(requester, INBOX_ADDRESS, "", "Only me now", first))
		self.assertEqual(self.people(conversation)[cc], ("CC", 0))
		self.assertTrue(any("Participants" in e and cc in e for e in timeline("Issue", issue)))
		receive(reply(requester, INBOX_ADDRESS, cc, "You again", first))
		self.assertEqual(self.people(conversation)[cc], ("CC", 1))

	def test_the_requester_adds_a_cc_but_a_light_agent_cannot(self):
		requester, _, first, issue, conversation = self.conversation_with_cc()
		colleague = unique_customer()
		adding = reply(requester, INBOX_ADDRESS, colleague, "Adding my colleague", first)
		receive(adding)
		self.assertEqual(self.people(conversation)[colleague], ("CC", 1))
		# Under the mail's routing line: who added them, on which mail, its Message-ID as written.
		shown = " ".join(item["content"] for item in routing_lines("Issue", issue))
		self.assertIn(f"on &lt;{parse_message(adding).message_id}&gt;", shown)
		self.assertNotIn("&amp;lt;", shown)
		stranger = unique_customer()
		receive(reply(LIGHT, f"{requester}, {INBOX_ADDRESS}", stranger, "note", first))
		self.assertNotIn(stranger, self.people(conversation))

	def test_the_cc_blocklist_holds(self):
		settings = frappe.get_single("PT Settings")
		settings.cc_blocklist = "*@competitor.example"
		settings.save()
		try:
			requester, _, first, issue, conversation = self.conversation_with_cc()
			receive(reply(requester, INBOX_ADDRESS, "spy@competitor.example", "cc", first))
			self.assertNotIn("spy@competitor.example", self.people(conversation))
			self.assertTrue(any("competitor.example" in e for e in timeline("Issue", issue)))
		finally:
			settings.cc_blocklist = ""
			settings.save()
			frappe.db.commit()

	def test_an_agents_reply_to_the_helpdesk_is_a_note_and_reply_all_is_public(self):
		requester, _, first, _, _ = self.conversation_with_cc()
		note = reply(AGENT, INBOX_ADDRESS, "", "Internal: check the toner", first)
		receive(note)
		self.assertEqual(self.visibility(note), "Private")
		public = reply(AGENT, f"{requester}, {INBOX_ADDRESS}", "", "We are sending a technician", first)
		receive(public)
		self.assertEqual(self.visibility(public), "Public")


class TestPrivateMessages(ParticipantsCase):
	def test_a_third_partys_reply_warns_and_stays_off_the_portal_and_rest(self):
		requester, _, first, issue, _ = self.conversation_with_cc(self.website_user(PORTAL))
		stranger = unique_customer()
		raw = reply(stranger, INBOX_ADDRESS, requester, "I am not on this ticket", first)
		receive(raw)
		self.assertEqual(self.visibility(raw), "Private")
		comm = communication_for(parse_message(raw).message_id)
		row = frappe.get_doc("PT Conversation Message", {"communication": comm.name})
		self.assertIn(stranger, row.warning or "")

		# the requester is copied, so stock's portal list would show it to them: not any more
		context = frappe._dict(comment_list=[{"name": comm.name}, {"name": "some-public-one"}])
		portal_user = requester
		frappe.set_user(portal_user)
		try:
			privacy.hide_private_from_portal(context)
			self.assertEqual([c["name"] for c in context.comment_list], ["some-public-one"])
			self.assertFalse(frappe.has_permission("Communication", "read", doc=comm.name, user=portal_user))
		finally:
			frappe.set_user("Administrator")
		self.assertIsNone(privacy.communication_permission(comm, user=AGENT))  # desk users: no objection

	def website_user(self, email: str) -> str:
		"""A portal customer as ERPNext makes them: a Website User with the Customer role."""
		if not frappe.db.exists("User", email):
			frappe.get_doc({"doctype": "User", "email": email, "first_name": "Portal", "user_type": "Website User",
							"send_welcome_email": 0}).insert(ignore_permissions=True)
		if "Customer" not in frappe.get_roles(email):
			frappe.get_doc("User", email).add_roles("Customer")
		frappe.db.commit()
		return email


class TestPanelActions(ParticipantsCase):
	def test_followers_from_the_form_ccs_with_the_blocklist_and_third_party_actions(self):
		from persona_threading import api

		requester, cc, first, issue, conversation = self.conversation_with_cc()
		api.set_participant("Issue", issue, AGENT, "Follower", 1)
		self.assertEqual(self.people(conversation)[AGENT], ("Follower", 1))
		self.assertRaises(frappe.ValidationError, api.set_participant, "Issue", issue, unique_customer(), "Follower", 1)
		api.set_participant("Issue", issue, cc, "CC", 0)
		self.assertEqual(self.people(conversation)[cc], ("CC", 0))

		stranger = unique_customer()
		raw = reply(stranger, INBOX_ADDRESS, "", "Me too", first)
		receive(raw)
		panel = api.conversation_participants("Issue", issue)
		self.assertEqual([w.sender for w in panel["warnings"]], [stranger])
		api.resolve_third_party("Issue", issue, panel["warnings"][0].name, "make_public")
		self.assertEqual(self.visibility(raw), "Public")
		self.assertEqual(self.people(conversation)[stranger], ("CC", 1))
		self.assertEqual(api.conversation_participants("Issue", issue)["warnings"], [])


def conversations_listed_after_two_mails(address: str, doctype: str, name: str) -> int:
	"""``address`` writes in twice; how many conversations the record's Connections then list."""
	from frappe.desk.notifications import get_open_count

	receive(new_mail(address, INBOX_ADDRESS, "Hello", "First"))
	receive(new_mail(address, INBOX_ADDRESS, "Again", "Second"))
	counts = get_open_count(doctype, name)
	return {row["doctype"]: row["count"] for row in counts["count"]["external_links_found"]}.get(
		"PT Conversation Follower")


def queued_to(address: str) -> list[str]:
	"""The raw mails queued for ``address`` (Email Queue, any status), oldest first."""
	names = frappe.get_all("Email Queue Recipient", filters={"recipient": address}, pluck="parent",
						   order_by="creation asc")
	return [frappe.db.get_value("Email Queue", n, "message") for n in names]


class TestMailToParticipants(ParticipantsCase):
	def test_an_added_cc_gets_the_public_history_once_without_internal_notes(self):
		requester, _, first, issue, _ = self.conversation_with_cc()
		receive(reply(AGENT, INBOX_ADDRESS, "", "Internal: customer is a very important person", first))  # a note
		colleague = unique_customer()
		receive(reply(requester, INBOX_ADDRESS, colleague, "Adding my colleague", first))
		mails = queued_to(colleague)
		self.assertEqual(len(mails), 1)
		text = parse_message(mails[0].encode()).text
		self.assertIn("It jams.", text)
		self.assertNotIn("very important person", text)
		self.assertIn("thread::", mails[0])

	def test_a_follower_gets_the_internal_note_by_mail_and_never_a_customers_headers(self):
		from persona_threading import api

		requester, cc, first, issue, _ = self.conversation_with_cc()
		follower = agent("pt-part-follower@pt-test.example")
		api.set_participant("Issue", issue, follower, "Follower", 1)
		before = len(queued_to(follower))
		receive(reply(AGENT, INBOX_ADDRESS, "", "Internal: replace the fuser", first))
		notes = [raw for raw in queued_to(follower)[before:] if raw and "replace the fuser" in raw]
		self.assertEqual(len(notes), 1)
		self.assertIn("Internal note", notes[0])
		self.assertNotIn(requester, notes[0])
		self.assertNotIn(cc, notes[0])
		from frappe.core.doctype.communication.email import make

		make(doctype="Issue", name=issue, subject="Re: Printer broken", content="<p>A technician comes today.</p>",
			 recipients=requester, cc=cc, sender=INBOX_ADDRESS, send_email=True)
		self.assert_never_together(follower, (requester, cc))

	def assert_never_together(self, follower: str, customers) -> None:
		"""No mail in the queue goes to a customer and the follower at once (To, Cc or Bcc)."""
		customer_mails = set(frappe.get_all("Email Queue Recipient", filters={"recipient": ["in", list(customers)]},
											pluck="parent"))
		self.assertTrue(customer_mails, "the customers got no mail at all: nothing was checked")
		follower_mails = set(frappe.get_all("Email Queue Recipient", filters={"recipient": follower}, pluck="parent"))
		self.assertTrue(follower_mails)
		self.assertEqual(customer_mails & follower_mails, set())


class TestRecipientsAndRecords(ParticipantsCase):
	def test_a_public_reply_goes_to_the_requester_with_active_ccs_never_followers(self):
		from persona_threading import api

		requester, cc, _, issue, _ = self.conversation_with_cc()
		api.set_participant("Issue", issue, AGENT, "Follower", 1)
		self.assertEqual(api.reply_recipients("Issue", issue), {"to": [requester], "cc": [cc], "inactive": []})

	def test_a_contact_lists_its_conversations(self):
		address = unique_customer()
		contact = frappe.get_doc({"doctype": "Contact", "first_name": "Linus",
								  "email_ids": [{"email_id": address, "is_primary": 1}]}).insert(ignore_permissions=True)
		self.assertEqual(conversations_listed_after_two_mails(address, "Contact", contact.name), 2)


class TestMailSentFromTheIssue(ParticipantsCase):
	def test_a_reply_from_the_issue_adds_its_cc_and_tells_the_followers(self):
		from frappe.core.doctype.communication.email import make

		from persona_threading import api

		requester, cc, _, issue, conversation = self.conversation_with_cc()
		follower = agent("pt-part-follower@pt-test.example")
		api.set_participant("Issue", issue, follower, "Follower", 1)
		colleague = unique_customer()
		make(doctype="Issue", name=issue, subject="Re: Printer broken", content="<p>Looping in our partner.</p>",
			 recipients=requester, cc=f"{cc}, {colleague}", sender=INBOX_ADDRESS, send_email=True)
		self.assertEqual(self.people(conversation)[colleague], ("CC", 1))
		notes = [raw for raw in queued_to(follower) if raw and "Looping in our partner" in raw]
		self.assertEqual(len(notes), 1)
		for customer in (requester, cc, colleague):
			for raw in queued_to(customer):
				self.assertNotIn(follower, raw or "")

	def test_a_public_reply_never_quotes_an_internal_note(self):
		from frappe.core.doctype.communication.email import make

		requester, _, first, issue, _ = self.conversation_with_cc()
		note = "Internal: the customer owes us three invoices, be firm"
		receive(reply(AGENT, INBOX_ADDRESS, "", note, first))
		quoted = (f"<p>We are on it.</p><p>On 29-11-2026, {AGENT} wrote:</p>"
				  f"<blockquote>{note}</blockquote>")  # what the composer quotes when replying to it
		sent = make(doctype="Issue", name=issue, subject="Re: Printer broken", content=quoted,
					recipients=requester, sender=INBOX_ADDRESS, send_email=True)["name"]
		self.assertNotIn("invoices", frappe.db.get_value("Communication", sent, "content"))
		bodies = [parse_message(raw.encode()).text for raw in queued_to(requester) if raw]
		bodies = [body for body in bodies if "We are on it" in body]  # decoded: QP may split words
		self.assertEqual(len(bodies), 1)
		self.assertNotIn("invoices", bodies[0])
		self.assertIn("quote of a private message", " ".join(timeline("Issue", issue)))


class TestParentRecords(ParticipantsCase):
	def parent_of(self, conversation, email):
		return frappe.db.get_value("PT Conversation Follower", {"conversation": conversation, "email": email},
								   ["follower_doctype", "follower_name"])

	def test_the_accounts_create_contact_setting_decides_whether_a_new_cc_gets_a_contact(self):
		inbox = support_inbox()
		for create_contact in (1, 0):
			inbox.db_set("create_contact", create_contact)
			try:
				requester, cc, _, _, conversation = self.conversation_with_cc()
			finally:
				inbox.db_set("create_contact", 1)
			contact = frappe.db.get_value("Contact Email", {"email_id": cc}, "parent")
			if create_contact:
				self.assertTrue(contact)
				self.assertEqual(self.parent_of(conversation, cc), ("Contact", contact))
			else:
				self.assertIsNone(contact)
				self.assertEqual(self.parent_of(conversation, cc), (None, None))


class TestAgentsAndLightAgents(ParticipantsCase):
	OFFICE = "pt-part-accounts@pt-test.example"  # a desk user who is not in Support Team

	def test_a_light_agent_with_support_team_cannot_mail_from_the_issue_add_ccs_or_make_public(self):
		from frappe.core.doctype.communication.email import make

		from persona_threading import api

		requester, cc, first, issue, conversation = self.conversation_with_cc()
		stranger = unique_customer()
		receive(reply(stranger, INBOX_ADDRESS, "", "Me too", first))
		warning = api.conversation_participants("Issue", issue)["warnings"][0].name
		self.assertTrue(frappe.has_permission("Issue", "email", doc=issue, user=AGENT))  # stock lets Support Team mail
		frappe.db.commit()
		frappe.set_user(LIGHT)
		try:
			self.assertFalse(frappe.has_permission("Issue", "email", doc=issue))
			with self.assertRaises(frappe.PermissionError):
				make(doctype="Issue", name=issue, subject="Re: Printer broken", content="<p>Public?</p>",
					 recipients=requester, cc=unique_customer(), sender=INBOX_ADDRESS, send_email=True)
			with self.assertRaises(frappe.PermissionError):
				api.set_participant("Issue", issue, unique_customer(), "CC", 1)
			with self.assertRaises(frappe.PermissionError):
				api.resolve_third_party("Issue", issue, warning, "make_public")
		finally:
			frappe.set_user("Administrator")
		frappe.db.rollback()
		self.assertEqual(set(self.people(conversation)), {requester, cc, stranger})
		self.assertEqual(self.people(conversation)[stranger], ("Third party", 1))

	def test_a_desk_user_outside_support_team_adds_no_cc_by_email(self):
		if not frappe.db.exists("User", self.OFFICE):
			frappe.get_doc({"doctype": "User", "email": self.OFFICE, "first_name": "Accounts", "send_welcome_email": 0,
							"roles": [{"role": "Accounts User"}]}).insert(ignore_permissions=True)
		requester, _, first, _, conversation = self.conversation_with_cc()
		newcomer = unique_customer()
		mail = reply(self.OFFICE, f"{requester}, {INBOX_ADDRESS}", newcomer, "Looping someone in", first)
		receive(mail)
		self.assertNotIn(newcomer, self.people(conversation))
		self.assertEqual(self.visibility(mail), "Private")

	def test_the_requester_cannot_be_demoted_from_the_form(self):
		from persona_threading import api

		requester, _, _, issue, conversation = self.conversation_with_cc()
		self.assertRaises(frappe.ValidationError, api.set_participant, "Issue", issue, requester, "CC", 1)
		self.assertRaises(frappe.ValidationError, api.set_participant, "Issue", issue, requester, "CC", 0)
		self.assertEqual(self.people(conversation)[requester], ("Requester", 1))

	def test_making_a_dropped_ccs_reply_public_brings_them_back_as_an_active_cc(self):
		from persona_threading import api

		requester, cc, first, issue, conversation = self.conversation_with_cc()
		receive(reply(requester, INBOX_ADDRESS, "", "Just me from now on", first))
		self.assertEqual(self.people(conversation)[cc], ("CC", 0))
		receive(reply(cc, INBOX_ADDRESS, "", "I still need this fixed", first))
		warnings = api.conversation_participants("Issue", issue)["warnings"]
		self.assertEqual([w.sender for w in warnings], [cc])
		api.resolve_third_party("Issue", issue, warnings[0].name, "make_public")
		self.assertEqual(self.people(conversation)[cc], ("CC", 1))


class TestRecordsOfSentMailAndCustomers(ParticipantsCase):
	def test_a_sent_mail_keeps_its_from_to_and_cc_and_never_its_bcc(self):
		from frappe.core.doctype.communication.email import make

		requester, cc, _, issue, conversation = self.conversation_with_cc()
		hidden = unique_customer()
		sent = make(doctype="Issue", name=issue, subject="Re: Printer broken", content="<p>On our way.</p>",
					recipients=requester, cc=cc, bcc=hidden, sender=INBOX_ADDRESS, send_email=True)["name"]
		row = frappe.db.get_value("PT Conversation Message", {"communication": sent, "direction": "Outbound"})
		self.assertTrue(row)
		followers = {(f.email, f.role) for f in frappe.get_all("PT Message Follower", filters={"parent": row},
																  fields=["email", "role"])}
		self.assertEqual(followers, {(INBOX_ADDRESS, "From"), (requester, "To"), (cc, "Cc")})

	def test_a_customer_lists_the_conversations_of_its_contacts(self):
		address = unique_customer()
		customer = frappe.get_doc({"doctype": "Customer", "customer_name": f"PT Linked {address}",
								   "customer_type": "Company"}).insert(ignore_permissions=True)
		frappe.get_doc({"doctype": "Contact", "first_name": "Ada", "email_ids": [{"email_id": address, "is_primary": 1}],
						"links": [{"link_doctype": "Customer", "link_name": customer.name}]}).insert(ignore_permissions=True)
		self.assertEqual(conversations_listed_after_two_mails(address, "Customer", customer.name), 2)


class TestBlocklistOnEveryPath(ParticipantsCase):
	BLOCKED = "spy@competitor.example"

	def setUp(self):
		super().setUp()
		settings = frappe.get_single("PT Settings")
		settings.cc_blocklist = "*@competitor.example"
		settings.save()
		frappe.db.commit()
		self.addCleanup(frappe.db.commit)
		self.addCleanup(frappe.db.set_single_value, "PT Settings", "cc_blocklist", "")

	def test_no_path_adds_a_blocked_address(self):
		from frappe.core.doctype.communication.email import make

		from persona_threading import api

		requester, cc, first, issue, conversation = self.conversation_with_cc()
		receive(reply(cc, f"{requester}, {INBOX_ADDRESS}", self.BLOCKED, "a CC copies them", first))
		receive(reply(AGENT, f"{requester}, {INBOX_ADDRESS}", self.BLOCKED, "an agent copies them", first))
		self.assertRaises(frappe.ValidationError, api.set_participant, "Issue", issue, self.BLOCKED, "CC", 1)
		make(doctype="Issue", name=issue, subject="Re: Printer broken", content="<p>From the Issue.</p>",
			 recipients=requester, cc=self.BLOCKED, sender=INBOX_ADDRESS, send_email=True)
		self.assertNotIn(self.BLOCKED, self.people(conversation))

		stray = reply(self.BLOCKED, INBOX_ADDRESS, "", "let me in", first)
		receive(stray)
		warning = api.conversation_participants("Issue", issue)["warnings"][-1]
		api.resolve_third_party("Issue", issue, warning.name, "make_public")
		self.assertEqual(self.visibility(stray), "Public")
		self.assertNotEqual(self.people(conversation).get(self.BLOCKED), ("CC", 1))
		self.assertNotIn(self.BLOCKED, api.reply_recipients("Issue", issue)["cc"])

	def test_a_cc_blocked_later_is_left_out_of_public_replies(self):
		from persona_threading import api

		requester, _, first, issue, conversation = self.conversation_with_cc()
		frappe.db.set_single_value("PT Settings", "cc_blocklist", "")
		receive(reply(requester, INBOX_ADDRESS, "partner@competitor.example", "my partner", first))
		self.assertEqual(self.people(conversation)["partner@competitor.example"], ("CC", 1))
		frappe.db.set_single_value("PT Settings", "cc_blocklist", "*@competitor.example")
		self.assertNotIn("partner@competitor.example", api.reply_recipients("Issue", issue)["cc"])


class TestMachineMailAndDismiss(ParticipantsCase):
	def test_followers_hear_nothing_of_an_out_of_office(self):
		from persona_threading import api

		requester, _, first, issue, _ = self.conversation_with_cc()
		follower = agent("pt-part-follower@pt-test.example")
		api.set_participant("Issue", issue, follower, "Follower", 1)
		before = len(queued_to(follower))
		receive(new_mail(requester, INBOX_ADDRESS, "Automatic reply: Re: Printer broken", "Away until Monday",
						 In_Reply_To=f"<{parse_message(first).message_id}>", Auto_Submitted="auto-replied"))
		self.assertEqual(len(queued_to(follower)), before)

	def test_dismissing_a_third_party_warning_keeps_the_reply_private(self):
		from persona_threading import api

		_, _, first, issue, conversation = self.conversation_with_cc()
		stranger = unique_customer()
		raw = reply(stranger, INBOX_ADDRESS, "", "Who are you people?", first)
		receive(raw)
		warning = api.conversation_participants("Issue", issue)["warnings"][0]
		api.resolve_third_party("Issue", issue, warning.name, "dismiss")
		self.assertEqual(api.conversation_participants("Issue", issue)["warnings"], [])
		self.assertEqual(self.visibility(raw), "Private")
		self.assertEqual(self.people(conversation)[stranger], ("Third party", 1))
		self.assertTrue(any("dismissed" in e for e in timeline("Issue", issue)))

	def test_a_second_inbox_and_a_plus_address_on_cc_never_join(self):
		requester = unique_customer()
		support_inbox("_PT Sales", "sales@pt-test.example")
		first = new_mail(requester, INBOX_ADDRESS, "Printer broken", "It jams.",
						 Cc="sales@pt-test.example, support+billing@pt-test.example")
		receive(first)
		conversation = frappe.db.get_value("PT Conversation", {"reference_name": issue_of(first)})
		self.assertEqual(set(self.people(conversation)), {requester})


class TestPrivateOverRESTAndThePortal(FrappeAPITestCase):
	"""A customer who may read a Communication by stock's rules (they own it: the portal's
	comment form and many integrations create it that way) still never reads a private one."""

	def test_a_private_message_is_refused_where_a_public_one_is_served(self):
		support_inbox()
		agent(AGENT)
		requester = TestPrivateMessages.website_user(None, "pt-portal-rest@pt-customer.example")
		first = new_mail(requester, INBOX_ADDRESS, "Portal printer", "Public: my printer is broken.")
		receive(first)
		issue = issue_of(first)
		secret = reply(unique_customer(), INBOX_ADDRESS, requester, "Private: a stranger writes in", first)
		receive(secret)
		from frappe.core.doctype.communication.email import make

		answer = make(doctype="Issue", name=issue, subject="Re: Portal printer", content="<p>Public: toner is on its way.</p>",
					  recipients=requester, sender=INBOX_ADDRESS, send_email=True)["name"]  # listed on the portal
		public = communication_for(parse_message(first).message_id).name
		private = communication_for(parse_message(secret).message_id).name
		# The Issue shared with the customer, Communications they own: stock alone serves both
		for name in (public, private):
			frappe.db.set_value("Communication", name, "owner", requester)
		frappe.share.add_docshare("Issue", issue, requester, read=1, notify=0, flags={"ignore_share_permission": True})
		frappe.db.commit()
		headers = api_headers(requester)

		got = self.get(self.resource('Communication', public), headers=headers)
		self.assertEqual(got.status_code, 200, got.text[-1500:])
		self.assertEqual(self.get(self.resource('Communication', private), headers=headers).status_code, 403)
		response = self.get(self.method("frappe.client.get_value"),
							{"doctype": "Communication", "filters": json.dumps({"name": private}),
							 "fieldname": json.dumps(["content"])}, headers=headers)
		self.assertNotIn("stranger writes", json.dumps(response.json))
		response = self.get(self.method("frappe.desk.form.load.getdoc"), {"doctype": "Communication", "name": private},
							headers=headers)
		self.assertNotEqual(response.status_code, 200)

		# the portal page as ERPNext renders it for the customer (as Frappe's website tests do)
		from frappe.utils import set_request
		from frappe.website.serve import get_response

		frappe.set_user(requester)
		try:
			set_request(method="GET", path=f"/issues/{issue}")
			page = get_response()
		finally:
			frappe.set_user("Administrator")
		html = page.get_data(as_text=True)
		self.assertEqual(page.status_code, 200)
		self.assertIn("toner is on its way", html)  # stock lists what the customer received...
		self.assertNotIn("stranger writes", html)  # ...but never a private message, though copied to them
		self.assertTrue(answer)
