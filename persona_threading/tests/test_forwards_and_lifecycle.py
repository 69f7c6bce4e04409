"""Agent forwards (attribution, assignment, no impersonation) and what replies do to status."""

from __future__ import annotations

import uuid

import frappe
from frappe.model.dynamic_links import _dynamic_link_map_key
from frappe.tests.utils import FrappeTestCase

from persona_threading.demo.client import new_mail
from persona_threading.frappe_adapter.timeline import routing_lines

from .helpers import INBOX_ADDRESS, agent, first_mail, issue_of, receive, support_inbox, timeline, unique_customer


def forward(outer: str, inner: str) -> bytes:
	body = (f"Can you take this one?\n\n---------- Forwarded message ---------\nFrom: Someone <{inner}>\n"
			f"Date: Mon, 16 Nov 2026 at 09:00\nSubject: VPN down\nTo: {outer}\n\nThe VPN is down again.")
	return new_mail(outer, INBOX_ADDRESS, "Fwd: VPN down", body)


class TestAgentForwards(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		support_inbox()
		cls.agent = agent("pt-fw-agent@pt-test.example")
		cls.colleague = agent("pt-fw-colleague@pt-test.example")
		frappe.db.commit()

	def test_forward_of_a_colleague_is_raised_by_the_colleague_and_assigned_to_the_agent(self):
		raw = forward(self.agent, self.colleague)
		receive(raw)
		issue = issue_of(raw)
		self.assertEqual(frappe.db.get_value("Issue", issue, "raised_by"), self.colleague)
		todos = frappe.get_all("ToDo", filters={"reference_type": "Issue", "reference_name": issue,
												 "status": "Open"}, pluck="allocated_to")
		self.assertEqual(todos, [self.agent])
		entries = timeline("Issue", issue)
		self.assertTrue(any(f"Created via forward from {self.agent} on behalf of {self.colleague}" in e
							for e in entries), entries)
		self.assertTrue(any(f"Assigned to {self.agent}" in e for e in entries), entries)

	def test_outsider_with_a_forward_marker_cannot_impersonate_an_agent(self):
		outsider = unique_customer()
		raw = forward(outsider, self.agent)
		receive(raw)
		issue = issue_of(raw)
		self.assertEqual(frappe.db.get_value("Issue", issue, "raised_by"), outsider)
		self.assertFalse(frappe.get_all("ToDo", filters={"reference_type": "Issue", "reference_name": issue}))

	def test_forward_of_an_external_mail_keeps_the_agent_as_requester_by_default(self):
		raw = forward(self.agent, unique_customer())
		receive(raw)
		self.assertEqual(frappe.db.get_value("Issue", issue_of(raw), "raised_by"), self.agent)


class TicketCase(FrappeTestCase):
	"""A customer's Issue in a chosen status, and replies to it through receive()."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		support_inbox()
		frappe.db.commit()

	def ticket(self, status: str):
		customer = unique_customer()
		raw = first_mail(customer)
		receive(raw)
		issue = issue_of(raw)
		frappe.db.set_value("Issue", issue, "status", status)
		frappe.db.commit()
		from persona_threading.engine.message import parse_message

		return customer, issue, parse_message(raw).message_id

	def reply(self, customer, message_id, text, **headers):
		raw = new_mail(customer, INBOX_ADDRESS, "Re: printer", text, In_Reply_To=f"<{message_id}>", **headers)
		receive(raw)
		return raw



class TestAutoResume(TicketCase):
	def test_reply_while_awaiting_input_resumes_with_an_audit_row(self):
		customer, issue, mid = self.ticket("Replied")
		self.reply(customer, mid, "Here are the logs.")
		self.assertEqual(frappe.db.get_value("Issue", issue, "status"), "Open")
		self.assertTrue(any("status_change_auto" in e and "Auto-resumed: inbound reply received while awaiting input" in e
							for e in timeline("Issue", issue)))

	def test_out_of_office_never_resumes_or_reopens(self):
		"""Stock Frappe sets any Issue to Open on any received mail; an auto-reply must not."""
		for status in ("Replied", "Resolved", "Closed"):
			customer, issue, mid = self.ticket(status)
			raw = self.reply(customer, mid, "I am out of the office until Monday.", Auto_Submitted="auto-replied")
			self.assertEqual(frappe.db.get_value("Issue", issue, "status"), status)
			self.assertEqual(issue_of(raw), issue)

	def test_thank_you_does_not_reopen_a_resolved_ticket_but_a_problem_does(self):
		customer, issue, mid = self.ticket("Resolved")
		self.reply(customer, mid, "Thanks a lot, works now!")
		self.assertEqual(frappe.db.get_value("Issue", issue, "status"), "Resolved")
		self.reply(customer, mid, "It is broken again.")
		self.assertEqual(frappe.db.get_value("Issue", issue, "status"), "Open")

	def test_reply_to_a_closed_ticket_opens_a_new_linked_one(self):
		customer, issue, mid = self.ticket("Closed")
		raw = self.reply(customer, mid, "The printer jams again.")
		new = issue_of(raw)
		self.assertNotEqual(new, issue)
		self.assertEqual(frappe.db.get_value("Issue", issue, "status"), "Closed")
		self.assertEqual(frappe.db.get_value("Issue", new, "raised_by"), customer)
		self.assertTrue(any(new in e for e in timeline("Issue", issue)))
		self.assertTrue(any(issue in e for e in timeline("Issue", new)))
		# What the closed Issue's form shows: one line naming the new one, in the reader's words.
		shown = [item["content"] for item in routing_lines("Issue", issue)]
		self.assertEqual(len([line for line in shown if new in line]), 1, shown)
		self.assertTrue(any(new in line and "a new ticket was opened and linked" in line for line in shown), shown)

	def test_a_closed_ticket_renamed_later_still_names_the_one_that_follows_it(self):
		# Frappe's cache of which DocTypes the link names, filled before any reply had opened a
		# linked ticket: renaming updates only the links it lists.
		frappe.cache.set_value(_dynamic_link_map_key("PT Conversation", "follows_doctype"), [None],
							   expires_in_sec=600)
		customer, issue, mid = self.ticket("Closed")
		new = issue_of(self.reply(customer, mid, "The scanner jams again."))
		renamed = f"{issue}-R"
		frappe.rename_doc("Issue", issue, renamed, force=True)
		frappe.db.commit()
		self.assertTrue(any(new in e for e in timeline("Issue", renamed)), timeline("Issue", renamed))


class TestGraceWindowsCountFromTheStatusChange(TicketCase):
	"""Reopen and thank-you windows start when the ticket was resolved/closed, not at its last edit."""

	def resolved_days_ago(self, status: str, days: int):
		customer, issue, mid = self.ticket("Open")
		doc = frappe.get_doc("Issue", issue)
		doc.status = status
		doc.save(ignore_permissions=True, ignore_version=False)  # tests skip versions unless asked
		version = frappe.get_last_doc("Version", filters={"ref_doctype": "Issue", "docname": issue})
		frappe.db.set_value("Version", version.name, "creation", frappe.utils.add_days(frappe.utils.now_datetime(), -days),
							update_modified=False)
		doc.reload()
		doc.description = "edited today by an agent"  # moves `modified` to now
		doc.save(ignore_permissions=True, ignore_version=False)
		frappe.db.commit()
		return customer, issue, mid

	def test_a_thank_you_after_the_grace_window_reopens_even_if_edited_today(self):
		customer, issue, mid = self.resolved_days_ago("Resolved", 10)  # grace window: 7 days
		self.reply(customer, mid, "Thanks a lot, works now!")
		self.assertEqual(frappe.db.get_value("Issue", issue, "status"), "Open")

	def test_a_thank_you_within_the_grace_window_keeps_it_resolved(self):
		customer, issue, mid = self.resolved_days_ago("Resolved", 2)
		self.reply(customer, mid, "Thanks a lot, works now!")
		self.assertEqual(frappe.db.get_value("Issue", issue, "status"), "Resolved")

	def test_reopen_within_n_days_counts_from_closing(self):
		settings = frappe.get_single("PT Settings")
		before = (settings.closed_ticket_policy, settings.reopen_within_days)
		settings.closed_ticket_policy, settings.reopen_within_days = "Reopen within N days", 14
		settings.save()
		try:
			customer, issue, mid = self.resolved_days_ago("Closed", 20)
			raw = self.reply(customer, mid, "The printer jams again.")
			self.assertNotEqual(issue_of(raw), issue)  # closed 20 days ago: a new linked ticket
			self.assertEqual(frappe.db.get_value("Issue", issue, "status"), "Closed")
		finally:
			settings.closed_ticket_policy, settings.reopen_within_days = before
			settings.save()
			frappe.db.commit()


class TestPerProjectStatuses(TicketCase):
	def test_a_project_can_name_its_own_awaiting_input_status(self):
		from .helpers import ensure_company, project

		ensure_company()
		name = project(f"PtSt{uuid.uuid4().hex[:4]}")
		frappe.db.set_value("Project", name, {"pt_awaiting_input_statuses": "On Hold", "pt_in_progress_status": "Open"})
		customer, issue, mid = self.ticket("On Hold")
		frappe.db.set_value("Issue", issue, "project", name)
		frappe.db.commit()
		self.reply(customer, mid, "Here you go.")
		self.assertEqual(frappe.db.get_value("Issue", issue, "status"), "Open")
		customer, other, mid = self.ticket("On Hold")  # no project: the global mapping ignores On Hold
		self.reply(customer, mid, "Here you go.")
		self.assertEqual(frappe.db.get_value("Issue", other, "status"), "On Hold")
