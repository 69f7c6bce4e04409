"""Text snippets: search order and scopes, rendering with merge codes, permissions, save-as."""

from __future__ import annotations

import uuid

import frappe
from frappe.core.doctype.communication.email import make
from frappe.tests.test_api import FrappeAPITestCase

from persona_threading import api

from .helpers import (INBOX_ADDRESS, agent, api_headers, customer_writes_in, ensure_company, project, support_inbox,
					  unique_customer)

AGENT = "pt-snippet-agent@pt-test.example"
OTHER_AGENT = "pt-snippet-other@pt-test.example"


def snippet(title: str, content: str, owner: str = "Administrator", **scopes) -> str:
	doc = frappe.get_doc({"doctype": "PT Snippet", "title": title, "content": content, **scopes})
	doc.insert(ignore_permissions=True)
	if owner != "Administrator":
		frappe.db.set_value("PT Snippet", doc.name, "owner", owner)
	return doc.name


def named_customer(address: str) -> str:
	name = f"Grace {uuid.uuid4().hex[:6]}"
	customer = frappe.get_doc({"doctype": "Customer", "customer_name": name, "customer_type": "Individual"}).insert(
		ignore_permissions=True)
	frappe.get_doc({"doctype": "Contact", "first_name": "Grace", "email_ids": [{"email_id": address, "is_primary": 1}],
					"links": [{"link_doctype": "Customer", "link_name": customer.name}]}).insert(ignore_permissions=True)
	return name


class SnippetCase(FrappeAPITestCase):
	def setUp(self):
		super().setUp()
		support_inbox()
		agent(AGENT)
		agent(OTHER_AGENT)
		frappe.db.delete("PT Snippet")
		self.customer = unique_customer()
		self.customer_name = named_customer(self.customer)
		_, self.issue, _ = customer_writes_in(self.customer)
		frappe.db.commit()

	def tearDown(self):
		frappe.set_user("Administrator")
		super().tearDown()


class TestSearchAndRender(SnippetCase):
	def test_pinned_first_then_by_title_filtered_by_title_or_content(self):
		snippet("zebra reset", "<p>Reset the zebra printer.</p>")
		snippet("Apology", "<p>Sorry for the wait.</p>", pinned=1)
		snippet("apple pay", "<p>We accept Apple Pay.</p>")
		snippet("Refund", "<p>Your printer refund is on its way.</p>")
		titles = [s["title"] for s in api.search_snippets("", "Issue", self.issue)]
		self.assertEqual(titles, ["Apology", "apple pay", "Refund", "zebra reset"])
		self.assertEqual([s["title"] for s in api.search_snippets("PRINTER", "Issue", self.issue)],
						 ["Refund", "zebra reset"])
		self.assertEqual(set(api.search_snippets("", "Issue", self.issue)[0]), {"name", "title", "pinned", "content"})

	def test_at_most_twenty(self):
		for i in range(25):
			snippet(f"Snippet {i:02}", "<p>x</p>")
		self.assertEqual(len(api.search_snippets("", "Issue", self.issue)), 20)

	def test_scopes_filter_the_menu(self):
		ensure_company()
		acme = project("PtSnipAcme")
		snippet("Everywhere", "<p>a</p>")
		snippet("Acme only", "<p>b</p>", project=acme)
		snippet("Other inbox only", "<p>c</p>", email_account="_Test Email Account 1")
		snippet("Support inbox only", "<p>d</p>", email_account="_PT Support")
		titles = {s["title"] for s in api.search_snippets("", "Issue", self.issue)}
		self.assertEqual(titles, {"Everywhere", "Support inbox only"})  # no project on this Issue
		frappe.db.set_value("Issue", self.issue, "project", acme)
		titles = {s["title"] for s in api.search_snippets("", "Issue", self.issue)}
		self.assertEqual(titles, {"Everywhere", "Acme only", "Support inbox only"})

	def test_render_fills_merge_codes_through_links_and_leaves_unknown_ones_visible(self):
		name = snippet("Hello", "<p>Dear {{ issue.customer.customer_name }}, about {{ issue.name }}: "
								"{{ conversation.subject }} {{ issue.nope }}</p>")
		rendered = api.render_snippet(name, "Issue", self.issue)
		subject = frappe.db.get_value("Issue", self.issue, "subject")
		self.assertIn(f"Dear {self.customer_name}, about {self.issue}: {subject} {{{{ issue.nope }}}}",
					  rendered["content"])
		self.assertEqual(rendered["unknown_codes"], ["issue.nope"])

	def test_rendering_against_an_unreadable_document_is_403_with_no_content(self):
		name = snippet("Hello", "<p>{{ issue.customer.customer_name }}</p>")
		outsider = agent("pt-snippet-outsider@pt-test.example")
		frappe.get_doc("User", outsider).remove_roles("Support Team")
		frappe.db.commit()
		for method, args in (("render_snippet", {"snippet": name}), ("search_snippets", {"txt": ""})):
			response = self.get(self.method(f"persona_threading.api.{method}"),
								{"doctype": "Issue", "name": self.issue, **args}, headers=api_headers(outsider))
			self.assertEqual(response.status_code, 403)
			self.assertNotIn(self.customer_name, response.text)
		response = self.post(self.method("persona_threading.api.render_snippet"),
							 {"snippet": name, "doctype": "Issue", "name": self.issue}, headers=api_headers(AGENT))
		self.assertEqual(response.status_code, 200)
		self.assertIn(self.customer_name, response.json["message"]["content"])


class TestPermissionsAndSaving(SnippetCase):
	def test_agents_read_all_write_their_own_and_admins_write_all(self):
		mine = snippet("Mine", "<p>a</p>", owner=AGENT)
		theirs = snippet("Theirs", "<p>b</p>", owner=OTHER_AGENT)
		frappe.set_user(AGENT)
		self.assertTrue(frappe.has_permission("PT Snippet", "read", doc=theirs))
		self.assertTrue(frappe.has_permission("PT Snippet", "write", doc=mine))
		self.assertFalse(frappe.has_permission("PT Snippet", "write", doc=theirs))
		self.assertTrue(frappe.has_permission("PT Snippet", "create"))
		frappe.set_user("Administrator")
		self.assertTrue(frappe.has_permission("PT Snippet", "write", doc=theirs))

	def test_save_as_snippet_is_offered_on_sent_mail_and_refused_on_received_mail(self):
		make(doctype="Issue", name=self.issue, subject="Re: printer", content="<p>Turn it off and on again.</p>",
			 recipients=self.customer, sender=INBOX_ADDRESS, send_email=True)
		sent = frappe.get_last_doc("Communication", filters={"reference_name": self.issue, "sent_or_received": "Sent"})
		name = api.save_snippet_from_communication(sent.name, "Power cycle")
		self.assertIn("Turn it off and on again.", frappe.db.get_value("PT Snippet", name, "content"))
		received = frappe.get_last_doc("Communication", filters={"reference_name": self.issue,
																	 "sent_or_received": "Received"})
		self.assertRaises(frappe.PermissionError, api.save_snippet_from_communication, received.name, "Nope")

	def test_a_sent_reply_saved_as_snippet_keeps_the_agents_words_only(self):
		"""As the desk stores a reply from the composer: the agent's text, their signature, a
		"!filter" line left in, stock's "---" and the quoted mail."""
		frappe.db.set_value("User", AGENT, "email_signature", "<p>-- Ada, second-level support</p>")
		self.addCleanup(frappe.db.set_value, "User", AGENT, "email_signature", None)
		content = ('<div class="ql-editor read-mode"><p>Open the tray and pull gently.</p><p>!trayy</p>'
				   '<p>-- Ada, second-level support</p><p><br></p><p>---</p><p><br></p>'
				   f'<p>On 7th December 2026, 10:02 AM, {self.customer} wrote:</p>'
				   '<blockquote>The printer on floor 3 jams.<br></blockquote></div>')
		frappe.set_user(AGENT)
		sent = make(doctype="Issue", name=self.issue, subject="Re: printer", content=content,
					recipients=self.customer, sender=INBOX_ADDRESS, send_email=True)["name"]
		saved = frappe.db.get_value("PT Snippet", api.save_snippet_from_communication(sent, "Tray"), "content")
		self.assertIn("Open the tray and pull gently.", saved)
		for left_out in ("!trayy", "Ada, second-level support", "---", "wrote:", "floor 3 jams", "ql-editor"):
			self.assertNotIn(left_out, saved)
