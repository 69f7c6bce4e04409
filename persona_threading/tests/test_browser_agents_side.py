"""In a real browser, the agents' side of a conversation (issue 20): a CC the agent leaves off a
response stays off the composer, Follow / Unfollow, "Make internal" on a customer's mail, and
"Save as snippet…" keeping only the agent's own text. See test_browser for the set-up."""

from __future__ import annotations

import uuid

import frappe

from persona_threading.demo.client import new_mail
from persona_threading.engine.message import parse_message

from .helpers import INBOX_ADDRESS, communication_for, issue_of, receive, unique_customer
from .test_browser import AGENT, BrowserCase

SIGNATURE = "-- The support team"
#: The open email composer (cur_dialog is another dialog while stock's message boxes come and go).
COMPOSER = "frappe.ui.open_dialogs.find((d) => d.fields_dict && d.fields_dict.recipients)"


class AgentsSideCase(BrowserCase):
	def setUp(self):
		super().setUp()
		# With a signature of their own, stock's composer does not read Email Account (which a
		# Support Team agent may not: the composer would stay empty). See test_browser.
		frappe.db.set_value("User", AGENT, "email_signature", f"<p>{SIGNATURE}</p>")
		self.addCleanup(frappe.db.commit)
		self.addCleanup(frappe.db.set_value, "User", AGENT, "email_signature", None)
		self.requester, self.cc = unique_customer(), unique_customer()
		self.first = new_mail(self.requester, INBOX_ADDRESS, "Router down", "The router blinks red.", Cc=self.cc)
		receive(self.first)
		self.issue = issue_of(self.first)
		self.first_name = communication_for(parse_message(self.first).message_id).name
		frappe.db.commit()

	def compose(self, page, communication: str, reply_all: bool = False):
		"""The composer of a Reply (All) to a mail of the timeline, once it is filled in."""
		from playwright.sync_api import expect

		self.close_stock_messages(page)
		page.evaluate("([name, all]) => cur_frm.timeline.compose_mail("
					  "cur_frm.get_docinfo().communications.find((c) => c.name === name), all)", [communication, reply_all])
		editor = page.locator(".modal.show .ql-editor").first
		expect(editor).to_contain_text(SIGNATURE, timeout=30000)
		page.wait_for_function(f"(requester) => {COMPOSER} && ({COMPOSER}.get_value('recipients') || '').includes(requester)",
							   arg=self.requester, timeout=20000)
		# the app's answer is in (or, from code without that mark, a few seconds passed)
		page.wait_for_function(f"(start) => {COMPOSER}.pt_recipients || Date.now() - start > 5000",
							   arg=page.evaluate("() => Date.now()"), timeout=20000)
		return editor

	def people(self) -> dict:
		conversation = frappe.db.get_value("PT Conversation", {"reference_name": self.issue})
		return {r.email: (r.role, r.active) for r in frappe.get_all(
			"PT Conversation Follower", filters={"conversation": conversation}, fields=["email", "role", "active"])}


class TestResponseDefinesTheCCsInTheBrowser(AgentsSideCase):
	def test_a_cc_the_agent_leaves_off_stays_off_the_next_reply_all(self):
		from playwright.sync_api import expect

		with self.agent_page() as (page, url):
			self.open_issue(page, url, self.issue)
			self.compose(page, self.first_name, reply_all=True)
			self.assertIn(self.cc, page.evaluate(f"() => {COMPOSER}.get_value('cc') || ''"))  # stock's Reply All
			cc_field = page.locator(".modal.show input[data-fieldname='cc']").first
			cc_field.fill("")  # the agent answers the requester only
			cc_field.press("Tab")
			page.wait_for_function(f"() => !({COMPOSER}.get_value('cc') || '').trim()", timeout=10000)
			page.locator(".modal.show .ql-editor").first.click()
			page.keyboard.press("Control+Home")
			page.keyboard.type("A new router is on its way. ")
			page.locator(".modal.show .btn-primary").first.click()
			page.wait_for_function(f"() => !{COMPOSER}", timeout=30000)
			frappe.db.rollback()  # see what the server committed
			for _ in range(40):
				if self.people().get(self.cc) == ("CC", 0):
					break
				page.wait_for_timeout(500)
				frappe.db.rollback()
			self.assertEqual(self.people()[self.cc], ("CC", 0))
			self.assertEqual(self.people()[AGENT], ("Follower", 1))  # the agent who replied follows

			self.open_issue(page, url, self.issue)
			row = page.locator(f"tr.pt-participant[data-email='{self.cc}']")
			expect(row.locator(".pt-state")).to_have_text("inactive", timeout=20000)
			expect(row.locator(".pt-restore")).to_be_visible()
			self.compose(page, self.first_name, reply_all=True)
			values = page.evaluate(f"() => [{COMPOSER}.get_value('recipients') || '', {COMPOSER}.get_value('cc') || '']")
			self.assertIn(self.requester, values[0])
			self.assertNotIn(self.cc, values[0] + values[1])  # never re-added by the composer


class TestComposerComparesWholeAddresses(AgentsSideCase):
	def test_an_active_cc_whose_address_ends_the_requesters_is_still_copied(self):
		"""ann@… is not joann@…: a reply to joann@… starts with ann@…, an active CC, in Cc."""
		self.cc = unique_customer()
		self.requester = f"jo{self.cc}"
		first = new_mail(self.requester, INBOX_ADDRESS, "Router down again", "Still red.", Cc=self.cc)
		receive(first)
		self.issue = issue_of(first)
		frappe.db.commit()
		self.assertEqual(self.people()[self.cc], ("CC", 1))
		with self.agent_page() as (page, url):
			self.open_issue(page, url, self.issue)
			self.compose(page, communication_for(parse_message(first).message_id).name)  # Reply, not Reply All
			to, cc = page.evaluate(f"() => [{COMPOSER}.get_value('recipients') || '', {COMPOSER}.get_value('cc') || '']")
		self.assertEqual([a.strip() for a in to.split(",") if a.strip()], [self.requester])
		self.assertEqual([a.strip() for a in cc.split(",") if a.strip()], [self.cc])


class TestFollowInTheBrowser(AgentsSideCase):
	def test_an_agent_follows_and_unfollows_from_the_panel(self):
		from playwright.sync_api import expect

		with self.agent_page() as (page, url):
			self.open_issue(page, url, self.issue)
			panel = page.locator(".pt-participants")
			expect(panel).to_be_visible(timeout=20000)
			self.close_stock_messages(page)
			page.locator(".pt-follow").click()
			row = page.locator(f"tr.pt-participant[data-email='{AGENT}']")
			expect(row.locator(".pt-role")).to_have_text("Follower", timeout=20000)
			expect(row.locator(".pt-state")).to_have_text("active")
			self.close_stock_messages(page)  # the form reloads: stock's "No permission" boxes again
			page.locator(".pt-unfollow").click()
			expect(page.locator(f"tr.pt-participant[data-email='{AGENT}'] .pt-state")).to_have_text(
				"inactive", timeout=20000)
			expect(page.locator(".pt-follow")).to_be_visible()
		frappe.db.rollback()
		self.assertEqual(self.people()[AGENT], ("Follower", 0))


class TestMakeInternalInTheBrowser(AgentsSideCase):
	def test_a_customers_public_mail_becomes_an_internal_note_from_the_timeline(self):
		from playwright.sync_api import expect

		secret = new_mail(self.requester, INBOX_ADDRESS, "Re: Router down", "The admin password is hunter2.",
						  In_Reply_To=f"<{parse_message(self.first).message_id}>", Cc=self.cc)
		receive(secret)
		name = communication_for(parse_message(secret).message_id).name
		frappe.db.commit()
		with self.agent_page() as (page, url):
			self.open_issue(page, url, self.issue)
			item = page.locator(f".timeline-item[data-name='{name}']")
			expect(item).to_be_visible(timeout=20000)
			self.close_stock_messages(page)
			item.hover()
			item.locator(".more-actions [data-toggle='dropdown']").first.click(force=True)
			item.locator(".pt-make-internal").click()
			page.locator(".modal.show .btn-primary").filter(has_text="Yes").click()
			expect(page.locator(f".timeline-item[data-name='{name}'] .pt-internal")).to_have_text(
				"Internal", timeout=20000)
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("PT Conversation Message", {"communication": name}, "visibility"), "Private")


class TestSaveAsSnippetInTheBrowser(AgentsSideCase):
	def test_save_as_snippet_keeps_the_agents_text_only(self):
		from playwright.sync_api import expect

		title = f"Router restart {uuid.uuid4().hex[:6]}"
		with self.agent_page() as (page, url):
			self.open_issue(page, url, self.issue)
			editor = self.compose(page, self.first_name)
			expect(editor).to_contain_text("blinks red")  # stock quotes the customer's mail
			page.evaluate(f"() => {COMPOSER}.fields_dict.content.quill.setSelection(0, 0)")
			page.keyboard.type("Please restart the router. !zzqx")
			menu = page.locator(".modal.show .pt-snippet-menu")
			expect(menu.locator(".pt-save-snippet")).to_be_visible(timeout=15000)
			menu.locator(".pt-save-snippet").click()
			prompt = page.locator(".modal.show:has(input[data-fieldname='title'])")
			prompt.locator("input[data-fieldname='title']").fill(title)
			prompt.locator(".btn-primary").click()
			expect(page.locator(".alert-message").filter(has_text="Snippet saved").first).to_be_visible(timeout=15000)
		frappe.db.rollback()
		content = frappe.db.get_value("PT Snippet", {"title": title}, "content")
		self.assertIn("Please restart the router.", content)
		for left_out in ("!zzqx", SIGNATURE, "blinks red", "wrote:", "---"):
			self.assertNotIn(left_out, content)
