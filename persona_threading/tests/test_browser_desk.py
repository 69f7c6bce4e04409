"""The desk as an agent sees it, in a real browser: what used to be broken on the Issue form
and the Contact (issue 21). Same harness as test_browser (Playwright + Debian's Chromium)."""

from __future__ import annotations

import re

import frappe
from frappe.core.doctype.communication.email import make
from frappe.utils.password import update_password

from persona_threading.demo.client import new_mail
from persona_threading.engine.message import parse_message
from persona_threading.frappe_adapter import followers, review_queue

from .helpers import (INBOX_ADDRESS, UNROUTED_ADDRESS, communication_for, issue_of, receive, unique_customer,
					  unrouted_inbox)
from .test_browser import AGENT, PASSWORD, BrowserCase


class TestWhatWasBrokenOnTheIssue(BrowserCase):
	def test_a_third_partys_warning_reads_as_written_and_they_are_no_active_participant(self):
		from playwright.sync_api import expect

		requester, stranger = unique_customer(), unique_customer()
		first = new_mail(requester, INBOX_ADDRESS, "Invoice 2211", "The invoice is wrong.")
		receive(first)
		issue = issue_of(first)
		receive(new_mail(f"Jonas Weber <{stranger}>", INBOX_ADDRESS, "Re: Invoice 2211", "I know why.",
						 In_Reply_To=f"<{parse_message(first).message_id}>"))
		frappe.db.commit()
		with self.agent_page() as (page, url):
			self.open_issue(page, url, issue)
			warning = page.locator(".pt-third-party-warning")
			expect(warning).to_contain_text(f"Jonas Weber <{stranger}>", timeout=20000)
			self.assertNotIn("&lt;", warning.inner_text())
			row = page.locator(f"tr.pt-participant[data-email='{stranger}']")
			expect(row.locator(".pt-state")).to_have_text("not a participant")

	def test_save_as_snippet_is_offered_on_a_mail_sent_from_the_desk_and_not_on_a_received_one(self):
		from playwright.sync_api import expect

		customer = unique_customer()
		first = new_mail(customer, INBOX_ADDRESS, "Printer jams", "Floor 3.")
		receive(first)
		issue = issue_of(first)
		sent = make(doctype="Issue", name=issue, subject="Re: Printer jams", content="Open the tray and pull gently.",
					recipients=customer, send_email=True, sender=INBOX_ADDRESS)["name"]
		received = communication_for(parse_message(first).message_id).name
		frappe.db.commit()
		with self.agent_page() as (page, url):
			self.open_issue(page, url, issue)
			for name, offered in ((sent, 1), (received, 0)):
				item = page.locator(f".timeline-item[data-name='{name}']")
				expect(item).to_be_visible(timeout=20000)
				expect(item.locator(".pt-save-as-snippet")).to_have_count(offered)
			item = page.locator(f".timeline-item[data-name='{sent}']")
			item.locator(".more-actions [data-toggle='dropdown']").click()
			item.locator(".pt-save-as-snippet").click()
			dialog = page.locator(".modal.show:has(input[data-fieldname='title'])")
			dialog.locator("input[data-fieldname='title']").fill(f"Tray {issue}")
			dialog.locator(".btn-primary").click()
			for _ in range(40):  # the server saves it: wait for the row
				frappe.db.rollback()
				content = frappe.db.get_value("PT Snippet", {"title": f"Tray {issue}"}, "content")
				if content:
					break
				page.wait_for_timeout(500)
		self.assertIn("pull gently", content or "")


ADMIN = "pt-browser-admin@pt-test.example"


class TestComposerShowsTheCc(BrowserCase):
	def test_a_prefilled_cc_is_visible_in_twenty_opens_in_a_row(self):
		from playwright.sync_api import expect

		requester, cc = unique_customer(), unique_customer()
		first = new_mail(requester, INBOX_ADDRESS, "Scanner offline", "It lost the network.", Cc=cc)
		receive(first)
		issue = issue_of(first)
		received = communication_for(parse_message(first).message_id).name
		self.give_the_agent_a_signature()
		frappe.db.commit()
		with self.agent_page() as (page, url):
			self.open_issue(page, url, issue)
			for attempt in range(20):
				page.evaluate("(name) => cur_frm.timeline.compose_mail("
							  "cur_frm.get_docinfo().communications.find((c) => c.name === name))", received)
				page.wait_for_function("(cc) => window.cur_dialog && (cur_dialog.get_value('cc') || '').includes(cc)",
									   arg=cc, timeout=20000)
				expect(page.locator(".modal.show [data-fieldname='cc'] input").first).to_be_visible(timeout=5000)
				page.evaluate("() => { cur_dialog.clear(); cur_dialog.hide(); }")
				expect(page.locator(".modal.show .ql-editor")).to_have_count(0, timeout=10000)


class AdminCase(BrowserCase):
	"""As a helpdesk's admin: System Manager, and the roles a helpdesk admin works with."""

	def setUp(self):
		super().setUp()
		if not frappe.db.exists("User", ADMIN):
			frappe.get_doc({"doctype": "User", "email": ADMIN, "first_name": "Admin", "send_welcome_email": 0,
							"roles": [{"role": "System Manager"}]}).insert(ignore_permissions=True)
		frappe.get_doc("User", ADMIN).add_roles("Projects User", "Support Team", "Sales User")
		update_password(ADMIN, PASSWORD)

	def admin_reads_german(self):
		"""The admin's desk in German until the test ends."""
		frappe.db.set_value("User", ADMIN, "language", "de")
		self.addCleanup(frappe.db.commit)
		self.addCleanup(frappe.db.set_value, "User", ADMIN, "language", "en")
		frappe.db.commit()


class TestContactConnections(AdminCase):
	def test_the_contacts_conversations_link_has_a_count_and_opens_only_theirs(self):
		from playwright.sync_api import expect

		address = unique_customer()
		contact = frappe.get_doc({"doctype": "Contact", "first_name": "Mara", "email_ids": [
			{"email_id": address, "is_primary": 1}]}).insert(ignore_permissions=True).name
		receive(new_mail(address, INBOX_ADDRESS, "Hello", "First"))
		receive(new_mail(address, INBOX_ADDRESS, "Again", "Second"))
		frappe.db.commit()
		with self.agent_page(ADMIN) as (page, url):  # a helpdesk admin: Contacts are not the agents'
			page.goto(f"{url}/app/contact/{contact}")
			page.wait_for_function("() => window.cur_frm && cur_frm.docname === %r" % contact, timeout=60000)
			page.evaluate("() => cur_frm.scroll_to_field && document.querySelector('.form-dashboard')"
						  "?.scrollIntoView()")
			link = page.locator(f".document-link[data-doctype='{followers.FOLLOWER}']")
			expect(link.locator(".count")).to_have_text("2", timeout=30000)
			link.locator(".badge-link").click()
			page.wait_for_url(f"**/app/{frappe.scrub(followers.FOLLOWER).replace('_', '-')}**", timeout=30000)
			rows = page.locator(".list-row-container .list-row")
			expect(rows).to_have_count(2, timeout=30000)


class TestWorkspaceAndLanguage(AdminCase):
	def test_the_workspace_cards_show_the_counts_and_open_the_lists(self):
		from playwright.sync_api import expect

		for _ in range(2):  # mail nobody could route: waits in the queue
			receive(new_mail(unique_customer(), UNROUTED_ADDRESS, "Hello?", "Anyone?"),
					account=unrouted_inbox())
		frappe.db.commit()
		waiting = frappe.db.count(review_queue.QUEUE, {"status": "Open"})
		with self.agent_page(ADMIN) as (page, url):
			page.goto(f"{url}/app/email-routing")
			card = page.locator(".number-widget-box", has_text="Mail waiting in the queue")
			shown = re.compile(rf"^\s*{f'{waiting:,}'.replace(',', ',?')}\s*$")  # 1030 or 1,030, as the site formats it
			expect(card.locator(".widget-content .number")).to_have_text(shown, timeout=60000)
			expect(page.locator(".number-widget-box", has_text="Parked in the journal")).to_be_visible()
			expect(page.locator(".widget.shortcut-widget-box", has_text="Routing settings")).to_be_visible()

	def test_a_german_agent_reads_the_apps_labels_in_german(self):
		from playwright.sync_api import expect

		sender = unique_customer()
		receive(new_mail(sender, UNROUTED_ADDRESS, "Hallo?", "Jemand da?"), account=unrouted_inbox())
		queued = frappe.db.get_value(review_queue.QUEUE, {"sender": sender})
		self.admin_reads_german()
		with self.agent_page(ADMIN) as (page, url):
			page.goto(f"{url}/app/pt-inbound-queue?sender={sender}")
			expect(page.locator(".page-title .title-text")).to_have_text("Eingangswarteschlange", timeout=60000)
			expect(page.locator(".list-row-container .list-row").first).to_contain_text("Keine Route", timeout=30000)
			page.goto(f"{url}/app/pt-inbound-queue/{queued}")  # why it waits, stored as a phrase: in German
			expect(page.locator(".frappe-control[data-fieldname='evidence']")).to_contain_text(
				f"keine Regel hat gepasst; Postfach {UNROUTED_ADDRESS} hat Projekte", timeout=60000)
			page.goto(f"{url}/app/email-routing")
			expect(page.locator(".number-widget-box", has_text="Mails in der Warteschlange")).to_be_visible(timeout=60000)


class TestBadgesOnTheMessage(AdminCase):
	def test_an_out_of_office_and_an_internal_note_carry_their_badges_in_the_readers_language(self):
		from playwright.sync_api import expect

		requester, first, issue, note = self.issue_with_an_internal_note()
		away = new_mail(requester, INBOX_ADDRESS, "Automatic reply: Scanner broken", "I am out of the office.",
						Auto_Submitted="auto-replied", In_Reply_To=f"<{parse_message(first).message_id}>")
		receive(away)
		first, away, note = (communication_for(parse_message(raw).message_id).name for raw in (first, away, note))
		frappe.db.commit()
		for user, auto_reply, internal in ((AGENT, "Auto-reply", "Internal"), (ADMIN, "Automatische Antwort", "Intern")):
			if user == ADMIN:
				self.admin_reads_german()
			with self.agent_page(user) as (page, url):
				self.open_issue(page, url, issue)
				expect(self.on_card(page, away, ".pt-message-badge")).to_have_text(auto_reply, timeout=20000)
				expect(self.on_card(page, note, ".pt-internal")).to_have_text(internal)
				expect(self.on_card(page, first, ".pt-message-badge, .pt-internal")).to_have_count(0)  # a request

	def on_card(self, page, communication: str, selector: str):
		"""``selector`` on the timeline card of one mail."""
		return page.locator(f".timeline-item[data-name='{communication}']").locator(selector)


class TestQueueTriage(AdminCase):
	def test_a_reviewer_dismisses_a_flood_in_one_go_from_the_list(self):
		from playwright.sync_api import expect

		flooder = unique_customer()
		for n in range(4):
			receive(new_mail(flooder, UNROUTED_ADDRESS, f"Hello? {n}", "Anyone?"), account=unrouted_inbox())
		rows = frappe.get_all(review_queue.QUEUE, {"sender": flooder, "status": "Open"}, pluck="name")
		self.assertEqual(len(rows), 4)
		frappe.db.commit()
		with self.agent_page(ADMIN) as (page, url):
			page.goto(f"{url}/app/pt-inbound-queue?status=Open&sender={flooder}")
			listed = page.locator(".list-row-container .list-row")
			expect(listed).to_have_count(4, timeout=60000)
			expect(listed.first).to_contain_text("No route")  # the reason column
			expect(page.locator(".page-actions button:visible", has_text="Add")).to_have_count(0)  # no "Add" button
			page.locator(".list-header-subject .list-check-all").check()
			page.get_by_role("button", name="Actions").click()
			page.get_by_role("link", name="Dismiss").click()
			dialog = page.locator(".modal.show:has(textarea[data-fieldname='reason'])")
			dialog.locator("textarea[data-fieldname='reason']").fill("one sender's flood")
			dialog.locator(".btn-primary").click()
			expect(page.locator(".list-row-container .list-row")).to_have_count(0, timeout=30000)
		frappe.db.rollback()
		self.assertEqual({frappe.db.get_value(review_queue.QUEUE, n, "status") for n in rows}, {"Dismissed"})
		self.assertEqual(frappe.db.get_value(review_queue.QUEUE, rows[0], "resolution_note"), "one sender's flood")


class TestALinkedTicket(BrowserCase):
	def test_the_closed_issue_names_the_one_a_reply_opened_in_words(self):
		"""A reply to a closed Issue opens a new one: the closed Issue's timeline says so, in
		words, with the new one's name (built from its conversation when the form loads)."""
		from playwright.sync_api import expect

		customer = unique_customer()
		first = new_mail(customer, INBOX_ADDRESS, "Scanner on floor 2", "It jams.")
		receive(first)
		issue = issue_of(first)
		frappe.db.set_value("Issue", issue, "status", "Closed")
		frappe.db.commit()
		again = new_mail(customer, INBOX_ADDRESS, "Re: Scanner on floor 2", "It jams <again>.",
						 In_Reply_To=f"<{parse_message(first).message_id}>")
		receive(again)
		new = issue_of(again)
		frappe.db.commit()
		with self.agent_page() as (page, url):
			self.open_issue(page, url, issue)
			line = page.locator(".timeline-item", has_text=f"Issue {new}")
			expect(line).to_contain_text("Customer replied to a closed ticket: a new ticket was opened and linked",
										 timeout=20000)
			expect(line).to_have_count(1)
			self.assertNotIn("&", line.inner_text())
			self.open_issue(page, url, new)
			expect(page.locator(".pt-routing-line", has_text=f"follows Issue {issue}")).to_have_count(1, timeout=20000)
