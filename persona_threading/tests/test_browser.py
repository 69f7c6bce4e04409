"""In a real browser: an agent types "!" in the Issue's email composer.

Headless Chromium from Debian's packages (/usr/bin/chromium), driven by Playwright from
PyPI, against `bench serve` of the test site on a free port. scripts/run-frappe-tests.sh
installs both; a missing one fails this test with a line saying what to install.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils.password import update_password

from persona_threading.demo.client import new_mail
from persona_threading.engine.message import parse_message

from .helpers import (INBOX_ADDRESS, agent, communication_for, customer_writes_in, issue_of, receive, support_inbox,
					  unique_customer)
from .test_snippets import named_customer, snippet

CHROMIUM = os.environ.get("PERSONA_CHROMIUM", "/usr/bin/chromium")
#: A failing browser test leaves its page here, named after the test (git-ignored).
SCREENSHOTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
						   "test-screenshots")
AGENT = "pt-browser-agent@pt-test.example"
PASSWORD = "pt-Browser-Agent-2026!"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
				 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
	with contextlib.closing(socket.socket()) as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


@contextlib.contextmanager
def bench_serve():
	"""`bench serve` of this bench on a free loopback port; yields the site's base URL."""
	port = free_port()
	sites = os.path.abspath(frappe.local.sites_path)
	log = open(os.path.join(frappe.utils.get_bench_path(), "logs", "pt-browser-serve.log"), "w")
	server = subprocess.Popen([sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "serve", "--port",
							   str(port), "--noreload"], cwd=sites, stdout=log, stderr=subprocess.STDOUT)
	url = f"http://{frappe.local.site}:{port}"
	try:
		for _ in range(120):
			with contextlib.suppress(OSError):
				request = urllib.request.Request(f"http://127.0.0.1:{port}/api/method/ping",
												 headers={"Host": f"{frappe.local.site}:{port}"})
				if urllib.request.urlopen(request, timeout=2).status == 200:
					break
			time.sleep(0.5)
		else:
			raise AssertionError(f"bench serve did not answer on port {port} (see logs/pt-browser-serve.log)")
		yield url
	finally:
		server.terminate()
		with contextlib.suppress(subprocess.TimeoutExpired):
			server.wait(10)
		server.kill()
		log.close()


class BrowserCase(FrappeTestCase):
	"""An agent logged in to `bench serve` of the test site in headless Chromium."""

	def setUp(self):
		if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
			self.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (scripts/run-frappe-tests.sh does)")
		try:
			import playwright.sync_api  # noqa: F401
		except ImportError:
			self.fail("Playwright is not installed in the bench env: pip install playwright")
		support_inbox()
		agent(AGENT)
		update_password(AGENT, PASSWORD)

	@contextlib.contextmanager
	def agent_page(self, user: str = AGENT):
		from playwright.sync_api import sync_playwright

		with bench_serve() as url, sync_playwright() as p:
			browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
			page = browser.new_page(viewport={"width": 1400, "height": 1000})
			try:
				page.goto(f"{url}/login")
				page.fill("#login_email", user)
				page.fill("#login_password", PASSWORD)
				page.click(".btn-login")
				page.wait_for_url("**/app**", timeout=60000)
				yield page, url
			except Exception:
				os.makedirs(SCREENSHOTS, exist_ok=True)  # one per failing test (git-ignored)
				page.screenshot(path=os.path.join(SCREENSHOTS, f"{self.id()}.png"))
				raise
			finally:
				browser.close()

	def give_the_agent_a_signature(self):
		"""With a signature of their own, stock's composer does not read Email Account (which
		a Support Team agent may not: the composer would stay empty, quote and all)."""
		frappe.db.set_value("User", AGENT, "email_signature", "<p>-- The support team</p>")
		self.addCleanup(frappe.db.commit)
		self.addCleanup(frappe.db.set_value, "User", AGENT, "email_signature", None)

	def issue_with_an_internal_note(self):
		"""A customer's Issue, and an agent's internal note on it by email: (the customer, their
		first mail, the Issue, the note)."""
		requester = unique_customer()
		first = new_mail(requester, INBOX_ADDRESS, "Scanner broken", "The scanner shows error E42.")
		receive(first)
		note = new_mail(AGENT, INBOX_ADDRESS, "Re: Scanner broken", "Internal: warranty expired last week",
						In_Reply_To=f"<{parse_message(first).message_id}>")
		receive(note)
		return requester, first, issue_of(first), note

	def open_issue(self, page, url, issue):
		page.goto(f"{url}/app/issue/{issue}")
		page.wait_for_function("() => window.cur_frm && cur_frm.docname === %r && cur_frm.timeline" % issue,
							   timeout=60000)
		self.close_stock_messages(page)

	def close_stock_messages(self, page):
		"""Stock ERPNext shows a Support Team agent "No permission" boxes (Support Settings when an
		Issue opens, Email Account when the composer opens); the app's paths need neither."""
		page.wait_for_timeout(1500)
		boxes = page.locator(".modal.show:has(.msgprint) .btn-modal-close")
		for _ in range(5):
			if not boxes.count():
				break
			boxes.first.click()
			page.wait_for_timeout(300)


class TestWhyHereDialog(BrowserCase):
	def test_the_dialog_shows_each_mail_and_highlights_the_deciding_rule(self):
		from playwright.sync_api import expect

		customer, issue, first = customer_writes_in()
		from persona_threading.demo.client import customer_reply

		receive(customer_reply(first, customer, "more", subject="edited", quote=False))
		frappe.db.commit()
		with self.agent_page() as (page, url):
			self.open_issue(page, url, issue)
			page.get_by_role("button", name="Why here?").click()
			dialog = page.locator(".modal.show:has(.pt-why-message)")
			expect(dialog.locator(".pt-why-message")).to_have_count(2, timeout=15000)
			second = dialog.locator(".pt-why-message").nth(1)
			expect(dialog.locator(".pt-why-message").first.locator(".pt-verdict")).to_have_text(
				"Opened this Issue: a new request")
			expect(second.locator(".pt-verdict")).to_have_text("Threaded: it answers a mail of this conversation")
			expect(second.locator("tr.pt-deciding")).to_have_count(1)
			expect(second.locator("tr.pt-deciding")).to_contain_text("Answers one of our mails (In-Reply-To)")
			expect(second.locator("tr.pt-quiet").first).to_be_hidden()  # the rules that said no: behind the toggle
			link = second.locator("tr.pt-deciding a")
			expect(link).to_have_attribute("href", f"/app/communication/{communication_for(parse_message(first).message_id).name}")
			dialog.get_by_label("Show every rule").check()
			expect(second.locator("tr.pt-quiet").first).to_be_visible()
			self.assertGreaterEqual(dialog.evaluate("d => d.querySelector('.modal-dialog').offsetWidth"), 1000)

	def test_the_timeline_has_one_routing_line_per_mail_in_words(self):
		from playwright.sync_api import expect

		from persona_threading.demo.client import customer_reply

		customer, issue, first = customer_writes_in()
		replies = [customer_reply(first, customer, f"more {n}", quote=False) for n in range(5)]
		for reply in replies:
			receive(reply)
		frappe.db.commit()
		with self.agent_page() as (page, url):
			self.open_issue(page, url, issue)
			lines = page.locator(".pt-routing-line")
			expect(lines).to_have_count(6, timeout=30000)  # six mails, one line each
			expect(lines.last).to_contain_text("Opened this Issue: a new request")  # newest first
			expect(lines.first).to_contain_text("Threaded: it answers a mail of this conversation")
			lines.first.scroll_into_view_if_needed()
			page.screenshot(path=os.path.join(frappe.utils.get_bench_path(), "logs", "pt-timeline.png"))
			timeline_text = page.locator(".new-timeline").inner_text()
			self.assertNotIn("thread::", timeline_text)
			self.assertNotIn(parse_message(first).message_id, timeline_text)


class TestParticipantsPanel(BrowserCase):
	def test_the_issue_shows_requester_cc_and_follower(self):
		from playwright.sync_api import expect

		from persona_threading import api
		from persona_threading.demo.client import new_mail

		from .helpers import INBOX_ADDRESS, issue_of

		requester, cc = unique_customer(), unique_customer()
		raw = new_mail(requester, INBOX_ADDRESS, "Printer broken", "It jams.", Cc=cc)
		receive(raw)
		issue = issue_of(raw)
		api.set_participant("Issue", issue, AGENT, "Follower", 1)
		frappe.db.commit()
		with self.agent_page() as (page, url):
			self.open_issue(page, url, issue)
			panel = page.locator(".pt-participants")
			expect(panel).to_be_visible(timeout=20000)
			for email, role in ((requester, "Requester"), (cc, "CC"), (AGENT, "Follower")):
				row = panel.locator(f"tr.pt-participant[data-email='{email}']")
				expect(row.locator(".pt-role")).to_have_text(role)
				expect(row.locator(".pt-state")).to_have_text("active")


class TestInternalNotesInTheBrowser(BrowserCase):
	def test_a_note_is_marked_internal_and_replying_to_it_quotes_the_customer_instead(self):
		from playwright.sync_api import expect

		_, _, issue, note = self.issue_with_an_internal_note()
		note_name = communication_for(parse_message(note).message_id).name
		self.give_the_agent_a_signature()
		frappe.db.commit()
		with self.agent_page() as (page, url):
			self.open_issue(page, url, issue)
			item = page.locator(f".timeline-item[data-name='{note_name}']")
			expect(item.locator(".pt-internal")).to_have_text("Internal", timeout=20000)
			self.close_stock_messages(page)
			page.evaluate("(name) => cur_frm.timeline.compose_mail("
						  "cur_frm.get_docinfo().communications.find((c) => c.name === name))", note_name)
			editor = page.locator(".modal.show .ql-editor").first
			expect(editor).to_contain_text("error E42", timeout=30000)
			self.assertNotIn("warranty", editor.inner_text())


class TestPanelAndComposerInTheBrowser(BrowserCase):
	def test_the_panels_buttons_change_the_people_and_a_reply_to_a_cc_also_goes_to_the_requester(self):
		from playwright.sync_api import expect

		from persona_threading.demo.client import new_mail

		from .helpers import INBOX_ADDRESS, issue_of

		requester, cc, newcomer = unique_customer(), unique_customer(), unique_customer()
		first = new_mail(requester, INBOX_ADDRESS, "Scanner offline", "It lost the network.", Cc=cc)
		receive(first)
		issue = issue_of(first)
		from_cc = new_mail(cc, f"{INBOX_ADDRESS}, {requester}", "Re: Scanner offline", "Same here.",
						   In_Reply_To=f"<{parse_message(first).message_id}>")
		receive(from_cc)
		cc_mail = communication_for(parse_message(from_cc).message_id).name
		self.give_the_agent_a_signature()
		frappe.db.commit()
		with self.agent_page() as (page, url):
			self.open_issue(page, url, issue)
			panel = page.locator(".pt-participants")
			expect(panel).to_be_visible(timeout=20000)
			self.close_stock_messages(page)
			page.locator(".pt-add-cc").click()
			prompt = page.locator(".modal.show:has(input[data-fieldname='email'])")
			prompt.locator("input[data-fieldname='email']").fill(newcomer)
			prompt.locator(".btn-primary").click()
			row = page.locator(f"tr.pt-participant[data-email='{newcomer}']")
			expect(row.locator(".pt-role")).to_have_text("CC", timeout=20000)
			self.close_stock_messages(page)  # the form reloads: stock's "No permission" boxes again
			row.locator(".pt-remove").click()
			expect(page.locator(f"tr.pt-participant[data-email='{newcomer}'] .pt-state")).to_have_text(
				"inactive", timeout=20000)
			self.assertEqual(frappe.db.get_value("PT Conversation Follower", {"email": newcomer}, ["role", "active"]),
							 ("CC", 0))

			self.close_stock_messages(page)
			page.evaluate("(name) => cur_frm.timeline.compose_mail("
						  "cur_frm.get_docinfo().communications.find((c) => c.name === name))", cc_mail)
			expect(page.locator(".modal.show .ql-editor").first).to_be_visible(timeout=30000)
			page.wait_for_function("(requester) => cur_dialog && (cur_dialog.get_value('recipients') || '').includes(requester)",
								   arg=requester, timeout=20000)
			values = page.evaluate("() => [cur_dialog.get_value('recipients'), cur_dialog.get_value('cc') || '']")
			self.assertIn(cc, values[0])
			self.assertNotIn(newcomer, values[0] + values[1])  # removed: not an active CC


class TestSnippetComposerInTheBrowser(BrowserCase):
	def setUp(self):
		super().setUp()
		frappe.db.delete("PT Snippet")
		customer = unique_customer()
		self.customer_name = named_customer(customer)
		_, self.issue, _ = customer_writes_in(customer)
		snippet("Power cycle", "<p>Dear {{ issue.customer.customer_name }}, please switch it off and on.</p>",
				pinned=1)
		snippet("Pricing", "<p>Our prices are on the website.</p>")
		frappe.db.commit()

	def test_bang_filter_enter_inserts_the_rendered_snippet_and_escape_leaves_the_text(self):
		from playwright.sync_api import expect

		with self.agent_page() as (page, url):
			self.open_issue(page, url, self.issue)
			page.evaluate("() => cur_frm.email_doc()")  # what the timeline's "New Email" button calls
			editor = page.locator(".modal.show .ql-editor").first
			expect(editor).to_be_visible(timeout=30000)
			self.close_stock_messages(page)
			editor.click()
			page.keyboard.type("Hello !pow")
			menu = page.locator(".modal.show .pt-snippet-menu")
			expect(menu).to_be_visible(timeout=15000)
			expect(menu.locator(".pt-snippet-item").first).to_contain_text("Power cycle")
			expect(menu).not_to_contain_text("Pricing")  # filtered
			page.keyboard.press("Enter")
			expect(editor).to_contain_text(f"Dear {self.customer_name}, please switch it off and on.", timeout=15000)
			expect(editor).not_to_contain_text("!pow")

			page.keyboard.type(" !pri")
			expect(menu).to_be_visible(timeout=15000)
			page.keyboard.press("Escape")
			expect(menu).to_be_hidden()
			expect(page.locator(".modal.show .ql-editor").first).to_be_visible()  # the composer stays open
			expect(editor).to_contain_text("!pri")
			page.keyboard.type(" hi!")  # "!" inside a word opens nothing
			page.wait_for_timeout(700)
			expect(menu).to_be_hidden()


class TestPreviewReportInTheBrowser(BrowserCase):
	ADMIN = "pt-browser-admin@pt-test.example"

	def admin(self) -> None:
		"""A System Manager who reads the report (a preview reads every mail of the site)."""
		if not frappe.db.exists("User", self.ADMIN):
			frappe.get_doc({"doctype": "User", "email": self.ADMIN, "first_name": "Admin", "send_welcome_email": 0,
							"roles": [{"role": "System Manager"}]}).insert(ignore_permissions=True)
		update_password(self.ADMIN, PASSWORD)

	@contextlib.contextmanager
	def report(self, inbox: str):
		"""A preview of ``inbox`` run as its worker runs it, its report open: (page, summary)."""
		from playwright.sync_api import expect

		from persona_threading.frappe_adapter import preview

		self.admin()
		doc = frappe.get_doc({"doctype": "PT Preview", "email_account": inbox}).insert()
		doc.start()
		preview.run(doc.name)  # what the worker runs
		frappe.db.commit()
		with self.agent_page(self.ADMIN) as (page, url):
			page.goto(f"{url}/app/pt-preview/{doc.name}")
			summary = page.locator(".pt-preview-summary")
			expect(summary).to_be_visible(timeout=60000)
			yield page, summary

	def test_the_report_shows_the_counts_and_a_disagreements_explanation(self):
		from playwright.sync_api import expect

		from .test_preview import INBOX, planted_history

		planted_history()
		with self.report(INBOX) as (page, summary):
			expect(summary.locator(".pt-disagree")).to_have_text("3")
			expect(summary.locator("tr[data-outcome='existing_instead_of_new'] td").nth(1)).to_have_text("1")
			# outcomes in words, with their meaning; why "replayed" and "compared" differ
			expect(summary.locator("tr[data-outcome='existing_instead_of_new']")).to_contain_text(
				"Existing ticket instead of a new one")
			expect(summary.locator(".pt-preview-counting")).to_contain_text("Replayed 7 mails")
			expect(page.locator(".pt-preview-chart svg").first).to_be_visible()
			explained = page.locator(".pt-preview-disagreement", has_text="existing_instead_of_new")
			expect(explained.locator(".pt-preview-explanation")).to_contain_text("references")
			# a colour per outcome: the same one in the table and on the disagreement's row
			for outcome, colour in (("same", "green"), ("existing_instead_of_new", "blue")):
				pill = summary.locator(f"tr[data-outcome='{outcome}'] .indicator-pill")
				expect(pill).to_have_class(re.compile(rf"\b{colour}\b"))
			expect(explained.locator(".indicator-pill")).to_have_class(re.compile(r"\bblue\b"))
			# the legend: every outcome in words with its colour, folded until opened
			legend = summary.locator(".pt-preview-legend")
			legend.locator("summary").click()
			expect(legend.locator(".pt-preview-legend-item")).to_have_count(10)
			for colour, words in (("green", "Same ticket"), ("orange", "New ticket instead of the existing one"),
								  ("cyan", "Depends on time"), ("pink", "Changed later")):
				expect(legend.locator(".pt-preview-legend-item", has_text=words).locator(".indicator")).to_have_class(
					re.compile(rf"\b{colour}\b"))
			expect(page.locator(".pt-preview-named-list")).to_have_count(0)  # stock's history: nothing named

	def test_what_depends_on_time_or_was_changed_later_is_shown_apart_not_as_a_disagreement(self):
		"""A period the app routed live: the lifecycle reply and the moved reply are listed under
		"Not counted as disagreements", with their reasons and their own colours."""
		from playwright.sync_api import expect

		from .test_preview import LIVE_INBOX, live_history

		live = live_history()
		with self.report(LIVE_INBOX) as (page, summary):
			expect(summary.locator(".pt-disagree")).to_have_text("0")
			expect(summary.locator(".pt-explained")).to_have_text("2")
			for outcome, colour in (("time_dependent", "cyan"), ("changed_later", "pink")):
				row = summary.locator(f"tr[data-outcome='{outcome}']")
				expect(row.locator("td").nth(1)).to_have_text("1")
				expect(row.locator(".indicator-pill")).to_have_class(re.compile(rf"\b{colour}\b"))
			named = page.locator(".pt-preview-named-list")
			expect(named.locator("summary")).to_have_text("Not counted as disagreements (2)")
			named.locator("summary").click()
			expect(named.locator(".pt-preview-named", has_text=live["linked"])).to_contain_text("closed")
			expect(named.locator(".pt-preview-named", has_text=live["moved"])).to_contain_text("moved after routing")
			expect(page.locator(".pt-preview-disagreement")).to_have_count(0)


class TestSuspendedList(BrowserCase):
	ADMIN = "pt-browser-admin@pt-test.example"

	def test_a_suspended_out_of_office_is_listed_and_open_as_issue_opens_it(self):
		from playwright.sync_api import expect

		from persona_threading.frappe_adapter import review_queue

		subject = f"Out of office until Monday {uuid.uuid4().hex[:6]}"
		sender = unique_customer()
		raw = new_mail(sender, support_inbox().email_id, subject, "I am away.",
					   **{"Auto-Submitted": "auto-replied"})
		receive(raw)
		communication = communication_for(parse_message(raw).message_id).name
		queued = frappe.db.get_value(review_queue.QUEUE, {"communication": communication}, ["name", "status"], as_dict=True)
		self.assertEqual(queued.status, "Suspended")
		if not frappe.db.exists("User", self.ADMIN):
			frappe.get_doc({"doctype": "User", "email": self.ADMIN, "first_name": "Admin", "send_welcome_email": 0,
							"roles": [{"role": "System Manager"}]}).insert(ignore_permissions=True)
		frappe.get_doc("User", self.ADMIN).add_roles("Projects User", "Support Team")  # a helpdesk's admin
		update_password(self.ADMIN, PASSWORD)
		frappe.db.commit()
		with self.agent_page(self.ADMIN) as (page, url):
			page.goto(f"{url}/app/pt-inbound-queue?status=Suspended&sender={sender}")
			row = page.locator(".list-row-container", has_text=subject)
			expect(row).to_be_visible(timeout=60000)
			expect(row).to_contain_text("Auto-reply")
			expect(row).to_contain_text("Suspended")
			page.goto(f"{url}/app/pt-inbound-queue/{queued.name}")
			page.wait_for_function("() => window.cur_frm && cur_frm.docname === %r" % queued.name, timeout=60000)
			page.get_by_role("button", name="Resolve").click()
			page.get_by_role("link", name="Open as Issue").click()
			page.locator(".modal.show .btn-primary").click()
			expect(page.locator(".indicator-pill", has_text="New Issue")).to_be_visible(timeout=30000)
		frappe.db.rollback()
		issue = frappe.db.get_value(review_queue.QUEUE, queued.name, "resolved_reference_name")
		self.assertTrue(issue)
		self.assertEqual(frappe.db.get_value("Communication", communication, "reference_name"), issue)
