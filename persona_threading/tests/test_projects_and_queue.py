"""Project routing, default landing project over REST, and the manual review queue."""

from __future__ import annotations

import uuid
from unittest.mock import patch

import frappe
from frappe.tests.test_api import FrappeAPITestCase
from frappe.tests.utils import FrappeTestCase

from persona_threading.demo.client import new_mail
from persona_threading.frappe_adapter.store import conversation_of

from .helpers import (agent, api_headers, communication_for, ensure_company, issue_of, project, receive,
					  support_inbox, timeline, unique_customer)


def multi_inbox(tag: str, scopes, default=None):
	address = f"multi-{tag}@pt-test.example"
	return support_inbox(f"_PT Multi {tag}", address, scopes, default), address


class MultiScopeInboxCase(FrappeTestCase):
	"""Two projects and an inbox serving both, without a default landing project."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_company()
		cls.acme, cls.beta = project("PtAcme"), project("PtBeta")
		cls.account, cls.address = multi_inbox(uuid.uuid4().hex[:6], [cls.acme, cls.beta])
		frappe.db.commit()


class TestProjectRouting(MultiScopeInboxCase):

	def test_prefix_validation(self):
		for bad in ("1abc", "ab-c", "a"):
			doc = frappe.get_doc({"doctype": "Project", "project_name": f"bad {bad} {uuid.uuid4().hex[:4]}",
								  "company": ensure_company(), "pt_inbound_prefix": bad})
			self.assertRaises(frappe.ValidationError, doc.insert)
		clash = frappe.get_doc({"doctype": "Project", "project_name": f"clash {uuid.uuid4().hex[:4]}",
								"company": ensure_company(), "pt_inbound_prefix": "PTACME"})
		self.assertRaisesRegex(frappe.ValidationError, "already used", clash.insert)

	def test_prefix_routes_to_the_project_and_is_stripped_from_the_subject(self):
		raw = new_mail(unique_customer(), self.address, "#ptacme Printer broken", "help")
		receive(raw, account=self.account)
		issue = frappe.get_doc("Issue", issue_of(raw))
		self.assertEqual((issue.project, issue.subject), (self.acme, "Printer broken"))
		self.assertIn(f"Opened in project {self.acme}: the subject starts with its prefix", timeline("Issue", issue.name))

	def test_the_projects_assignment_rule_assigns_the_routed_issue_not_the_general_rotation(self):
		member, anyone = (agent(f"pt-{who}-{uuid.uuid4().hex[:6]}@pt-test.example") for who in ("acme", "any"))
		self.assignment_rule(member, 99, f"project == '{self.acme}'")
		self.assignment_rule(anyone, 1, "status == 'Open'")  # everyone else's Issues
		raw = new_mail(unique_customer(), self.address, "#ptacme Scanner offline", "help")
		receive(raw, account=self.account)
		issue = issue_of(raw)
		self.assertEqual(frappe.db.get_value("Issue", issue, "project"), self.acme)
		assigned = frappe.get_all("ToDo", {"reference_type": "Issue", "reference_name": issue, "status": "Open"},
								  pluck="allocated_to")
		self.assertEqual(assigned, [member], "the project's rule saw the project on the insert")

	def assignment_rule(self, user: str, priority: int, condition: str) -> None:
		rule = frappe.get_doc({"doctype": "Assignment Rule", "name": f"PT rule {uuid.uuid4().hex[:6]}",
							   "document_type": "Issue", "priority": priority, "rule": "Round Robin",
							   "assign_condition": condition, "users": [{"user": user}],
							   "assignment_days": [{"day": day} for day in ("Monday", "Tuesday", "Wednesday",
																			"Thursday", "Friday", "Saturday", "Sunday")]})
		rule.insert(ignore_permissions=True)
		frappe.db.commit()  # receive() commits; the rule must go again for the other tests

		def remove():
			frappe.delete_doc("Assignment Rule", rule.name, ignore_permissions=True, force=True)
			frappe.db.commit()

		self.addCleanup(remove)

	def test_multi_scope_inbox_without_route_queues_with_the_raw_mail(self):
		raw = new_mail(unique_customer(), self.address, "No prefix here", "help")
		receive(raw, account=self.account)
		from persona_threading.engine.message import parse_message

		comm = communication_for(parse_message(raw).message_id)
		self.assertFalse(comm.reference_name)
		queued = frappe.get_doc("PT Inbound Queue", {"communication": comm.name})
		self.assertEqual(queued.status, "Open")
		self.assertIn("no route", queued.evidence)
		files = frappe.get_all("File", filters={"attached_to_doctype": "PT Inbound Queue",
												"attached_to_name": queued.name}, pluck="file_name")
		self.assertEqual(files, [f"{queued.name}.eml"])

	def test_single_scope_inbox_routes_without_prefix(self):
		account, address = multi_inbox(uuid.uuid4().hex[:6], [self.beta])
		raw = new_mail(unique_customer(), address, "Invoice", "help")
		receive(raw, account=account)
		self.assertEqual(frappe.db.get_value("Issue", issue_of(raw), "project"), self.beta)

	def test_an_inbox_whose_address_the_admin_changes_is_known_by_it_at_the_next_pull(self):
		"""Routing keeps the inboxes' addresses between pulls (the site's cache): an inbox Cc'd
		on a customer's mail is ours, never a follower. An admin who moves an inbox to a new
		address is heard by the very next mail; one who removes it too."""
		tag = uuid.uuid4().hex[:6]
		other, old_address = multi_inbox(tag, [self.beta])
		self.addCleanup(lambda: frappe.db.exists("Email Account", other.name) and (
			frappe.delete_doc("Email Account", other.name, ignore_permissions=True, force=True), frappe.db.commit()))
		new_address = f"moved-{tag}@pt-test.example"

		def followers_after(cc: str) -> list[str]:
			raw = new_mail(unique_customer(), self.address, f"#PtBeta Cc {cc}", "help", Cc=cc)
			receive(raw, account=self.account)
			conversation = conversation_of("Issue", issue_of(raw))
			return frappe.get_all("PT Conversation Follower", {"conversation": conversation}, pluck="email")

		self.assertNotIn(old_address, followers_after(old_address))  # one of our inboxes
		other.email_id = new_address
		other.save(ignore_permissions=True)
		frappe.db.commit()
		self.assertNotIn(new_address, followers_after(new_address))
		self.assertIn(old_address, followers_after(old_address))  # nobody's inbox now: a person Cc'd
		frappe.delete_doc("Email Account", other.name, ignore_permissions=True, force=True)
		frappe.db.commit()
		self.assertIn(new_address, followers_after(new_address))


class TestReviewQueue(MultiScopeInboxCase):

	def queued(self):
		from persona_threading.engine.message import parse_message

		raw = new_mail(unique_customer(), self.address, "Where does this go", "help")
		receive(raw, account=self.account)
		comm = communication_for(parse_message(raw).message_id)
		return frappe.get_doc("PT Inbound Queue", {"communication": comm.name}), comm

	def test_attach_to_an_issue_awaiting_input_resumes_it(self):
		from persona_threading.frappe_adapter import api

		item, comm = self.queued()
		issue = frappe.get_doc({"doctype": "Issue", "subject": "Waiting", "raised_by": item.sender}).insert()
		frappe.db.set_value("Issue", issue.name, "status", "Replied")
		api.queue_attach(item.name, issue.name)
		self.assertEqual(frappe.db.get_value("Communication", comm.name, "reference_name"), issue.name)
		self.assertEqual(frappe.db.get_value("PT Inbound Queue", item.name, "status"), "Attached")
		self.assertEqual(frappe.db.get_value("Issue", issue.name, "status"), "Open")
		entries = timeline("Issue", issue.name)
		self.assertTrue(any("Attached from the manual queue" in e for e in entries), entries)
		self.assertTrue(any("status_change_auto" in e and "Auto-resumed" in e for e in entries), entries)

	def test_a_queued_mails_cc_joins_the_issue_it_is_attached_to_and_gets_the_history(self):
		from persona_threading.engine.message import parse_message
		from persona_threading.frappe_adapter import api

		customer, colleague = unique_customer(), unique_customer()
		opening = new_mail(customer, "support@pt-test.example", "My order is late", "Order 123 has not arrived.")
		receive(opening)  # the plain support inbox opens the Issue
		issue = frappe.get_doc("Issue", issue_of(opening))
		raw = new_mail(customer, self.address, "About my ticket", "see my colleague's note", Cc=colleague)
		receive(raw, account=self.account)
		item = frappe.get_doc("PT Inbound Queue", {"communication": communication_for(parse_message(raw).message_id).name})
		api.queue_attach(item.name, issue.name)
		conversation = frappe.db.get_value("PT Conversation", {"reference_name": issue.name})
		people = {r.email: (r.role, r.active) for r in frappe.get_all(
			"PT Conversation Follower", filters={"conversation": conversation}, fields=["email", "role", "active"])}
		self.assertEqual(people.get(colleague), ("CC", 1))
		history = frappe.get_all("Email Queue Recipient", filters={"recipient": colleague}, pluck="parent")
		self.assertEqual(len(history), 1)
		self.assertIn("Order 123", frappe.db.get_value("Email Queue", history[0], "message"))

	def test_create_issue_in_a_project_and_dismiss(self):
		from persona_threading.frappe_adapter import api

		item, comm = self.queued()
		name = api.queue_create_issue(item.name, self.beta)
		self.assertEqual(frappe.db.get_value("Issue", name, ["project", "raised_by"]), (self.beta, item.sender))
		self.assertEqual(frappe.db.get_value("Communication", comm.name, "reference_name"), name)
		other, _ = self.queued()
		self.assertRaises(frappe.ValidationError, api.queue_dismiss, other.name, " ")
		api.queue_dismiss(other.name, "spam")
		kept = frappe.get_doc("PT Inbound Queue", other.name)
		self.assertEqual((kept.status, kept.resolved_by, kept.resolution_note), ("Dismissed", "Administrator", "spam"))
		self.assertRaises(frappe.ValidationError, api.queue_dismiss, other.name, "again")

	def test_a_queued_agent_forward_keeps_its_attribution_and_opening_applies_it(self):
		from persona_threading.frappe_adapter import api

		forwarder, colleague = agent("pt-q-agent@pt-test.example"), agent("pt-q-colleague@pt-test.example")
		body = (f"Please handle.\n\n---------- Forwarded message ---------\nFrom: Colleague <{colleague}>\n"
				f"Subject: VPN down\nTo: {forwarder}\n\nThe VPN is down.")
		raw = new_mail(forwarder, self.address, "Fwd: VPN down", body)
		receive(raw, account=self.account)
		from persona_threading.engine.message import parse_message

		comm = communication_for(parse_message(raw).message_id)
		item = frappe.get_doc("PT Inbound Queue", {"communication": comm.name})
		self.assertEqual((item.submitted_by, item.assigned_to), (colleague, forwarder))
		name = api.queue_create_issue(item.name, self.acme)
		self.assertEqual(frappe.db.get_value("Issue", name, "raised_by"), colleague)
		self.assertEqual(frappe.get_all("ToDo", filters={"reference_type": "Issue", "reference_name": name,
														 "status": "Open"}, pluck="allocated_to"), [forwarder])
		entries = timeline("Issue", name)
		self.assertTrue(any(f"Created via forward from {forwarder} on behalf of {colleague}" in e for e in entries), entries)

	def test_prefix_after_re_does_not_route_unless_the_setting_allows_it(self):
		raw = new_mail(unique_customer(), self.address, "Re: #PtBeta invoice", "help")
		receive(raw, account=self.account)
		self.assertFalse(issue_of(raw))  # anchored by default: no route, so the manual queue
		settings = frappe.get_single("PT Settings")
		settings.prefix_after_reply_markers = 1
		settings.save()
		try:
			raw = new_mail(unique_customer(), self.address, "Re: #PtBeta invoice", "help")
			receive(raw, account=self.account)
			self.assertEqual(frappe.db.get_value("Issue", issue_of(raw), "project"), self.beta)
		finally:
			settings.prefix_after_reply_markers = 0
			settings.save()
			frappe.db.commit()

	def test_reviewers_need_the_role(self):
		from persona_threading.frappe_adapter import api

		item, _ = self.queued()
		outsider = agent("pt-not-a-reviewer@pt-test.example")
		frappe.set_user(outsider)
		try:
			self.assertRaises(frappe.PermissionError, api.queue_dismiss, item.name, "no")
		finally:
			frappe.set_user("Administrator")


class TestDefaultLandingProjectOverREST(FrappeAPITestCase):
	def setUp(self):
		super().setUp()
		ensure_company()
		self.acme, self.beta = project("PtAcme"), project("PtBeta")
		self.gamma = project("PtGamma")
		self.account, self.address = multi_inbox(uuid.uuid4().hex[:6], [self.acme, self.beta])
		frappe.db.commit()

	def put_account(self, values: dict, user="Administrator"):
		"""PUT over REST; only the mail server connections stock validation makes are replaced."""
		from frappe.email.doctype.email_account.email_account import EmailAccount

		with patch.object(EmailAccount, "get_incoming_server"), patch.object(EmailAccount, "validate_smtp_conn"):
			return self.put(self.resource("Email Account", self.account.name), values, headers=api_headers(user))

	def put_default(self, value, user="Administrator"):
		return self.put_account({"pt_default_project": value}, user)

	def test_only_an_eligible_scope_may_be_the_default(self):
		response = self.put_default(self.gamma)
		self.assertEqual(response.status_code, 400, response.json)
		self.assertIn("must be one of this inbox", str(response.json))
		self.assertEqual(self.put_default(self.beta).status_code, 200)
		self.assertEqual(frappe.db.get_value("Email Account", self.account.name, "pt_default_project"), self.beta)
		raw = new_mail(unique_customer(), self.address, "No prefix", "help")
		receive(raw, account=frappe.get_doc("Email Account", self.account.name))
		self.assertEqual(frappe.db.get_value("Issue", issue_of(raw), "project"), self.beta)

	def test_null_clears_back_to_the_queue(self):
		self.assertEqual(self.put_default(self.acme).status_code, 200)
		self.assertEqual(self.put_default(None).status_code, 200)
		self.assertIsNone(frappe.db.get_value("Email Account", self.account.name, "pt_default_project"))

	def test_non_admins_get_403(self):
		user = agent("pt-not-an-admin@pt-test.example")
		self.assertEqual(self.put_default(self.acme, user=user).status_code, 403)

	def inbox_editor(self) -> str:
		"""Not a System Manager, but a custom role lets them edit Email Accounts (Role Permission Manager)."""
		from frappe.permissions import add_permission, update_permission_property

		role = "_PT Inbox Editor"
		if not frappe.db.exists("Role", role):
			frappe.get_doc({"doctype": "Role", "role_name": role, "desk_access": 1}).insert(ignore_permissions=True)
		if not frappe.db.exists("Custom DocPerm", {"parent": "Email Account", "role": role}):
			add_permission("Email Account", role, 0)
			update_permission_property("Email Account", role, 0, "write", 1)
		user = agent("pt-inbox-editor@pt-test.example")
		frappe.get_doc("User", user).add_roles(role)
		frappe.db.commit()
		return user

	def test_an_inbox_editor_who_is_not_admin_may_neither_set_nor_clear_it(self):
		editor = self.inbox_editor()
		refused = self.put_default(self.acme, user=editor)
		# 403 from the app's own check (stock would let this user write Email Account)
		self.assertEqual(refused.status_code, 403)
		self.assertIn("Only System Managers may set or clear the default landing project", str(refused.json))
		self.assertIsNone(frappe.db.get_value("Email Account", self.account.name, "pt_default_project"))
		self.assertEqual(self.put_default(self.acme).status_code, 200)
		refused = self.put_default(None, user=editor)
		self.assertEqual(refused.status_code, 403)
		self.assertIn("Only System Managers may set or clear the default landing project", str(refused.json))
		self.assertEqual(frappe.db.get_value("Email Account", self.account.name, "pt_default_project"), self.acme)

	def test_a_project_that_does_not_exist_is_400_not_417(self):
		response = self.put_default("No Such Project 4711")
		self.assertEqual(response.status_code, 400, response.json)
		self.assertIn("must be one of this inbox", str(response.json))

	def test_removing_the_default_scope_degrades_to_no_route(self):
		self.assertEqual(self.put_default(self.acme).status_code, 200)
		account = frappe.get_doc("Email Account", self.account.name)
		account.pt_project_scopes = [row for row in account.pt_project_scopes if row.project != self.acme]
		account.append("pt_project_scopes", {"project": self.gamma, "approved": 1, "receive_enabled": 1})
		account.save()
		frappe.db.commit()
		self.assertIsNone(frappe.db.get_value("Email Account", account.name, "pt_default_project"))
		raw = new_mail(unique_customer(), self.address, "No prefix", "help")
		receive(raw, account=account)
		from persona_threading.engine.message import parse_message

		comm = communication_for(parse_message(raw).message_id)
		self.assertFalse(comm.reference_name)
		self.assertTrue(frappe.db.exists("PT Inbound Queue", {"communication": comm.name}))

