"""Frappe Helpdesk where its agents work (issue 23): HD Teams as routing targets and Helpdesk's
own team assignment for the tickets the app opens, notes written in the agent UI reaching the
followers, the history preview of an HD Ticket inbox, and the agent UI in a real browser.

Runs on a site with Frappe Helpdesk only (see test_helpdesk.py); skipped on any other site.
"""

from __future__ import annotations

import json
import os
import unittest
import uuid

import frappe
from frappe.tests.test_api import FrappeAPITestCase
from frappe.tests.utils import FrappeTestCase

from persona_threading.demo.client import customer_reply, new_mail
from persona_threading.engine.message import parse_message
from persona_threading.frappe_adapter import preview

from .helpers import api_headers, receive
from .test_helpdesk import (
	HelpdeskCase,
	forward,
	hd_agent,
	hd_inbox,
	helpdesk_site,
	mail,
	scopes,
	team,
	ticket_of,
)

OTHER_AGENT = "pt-hd-agent-two@pt-hd.example"  # fixed: Frappe throttles creating users


TEAM_INBOX, TEAM_ADDRESS = "_PT Helpdesk Teams", "teams@pt-hd.example"


class TestHDTeamRouting(FrappeAPITestCase):
	"""An HD Ticket inbox routes to HD Teams: scopes, #PREFIX, default landing team; 400/403."""

	def setUp(self):
		super().setUp()
		if not helpdesk_site():
			raise unittest.SkipTest("runs on a site with Frappe Helpdesk only")
		self.billing, self.network = team("PT Billing", "PtBill"), team("PT Network", "PtNet")
		self.other = team("PT Other", "PtOther")
		hd_inbox(TEAM_INBOX, TEAM_ADDRESS, pt_team_scopes=scopes(self.billing, self.network), pt_default_team=None)
		frappe.db.commit()

	def deliver(self, subject: str) -> bytes:
		raw = new_mail(f"c-{uuid.uuid4().hex[:8]}@pt-hd-customer.example", TEAM_ADDRESS, subject, "Help")
		receive(raw, account=frappe.get_doc("Email Account", TEAM_INBOX))
		frappe.db.commit()
		return raw

	def team_of(self, raw: bytes) -> str | None:
		return frappe.db.get_value("HD Ticket", ticket_of(raw), "agent_group")

	def test_prefix_of_a_scope_team_routes_there_and_is_stripped(self):
		raw = self.deliver("#PtNet VPN is down")
		self.assertEqual(self.team_of(raw), self.network)
		self.assertEqual(frappe.db.get_value("HD Ticket", ticket_of(raw), "subject"), "VPN is down")
		activity = frappe.get_all("HD Ticket Activity", {"ticket": ticket_of(raw)}, pluck="action")
		self.assertIn(f"Email routing: Opened in team {self.network}: the subject starts with its prefix", activity)

	def test_a_team_outside_the_scopes_or_a_project_prefix_does_not_route(self):
		raw = self.deliver("#PtOther please")
		self.assertFalse(ticket_of(raw))  # two scopes, no default: the manual queue
		self.assertEqual(frappe.db.get_value("PT Inbound Queue", {"communication": frappe.db.get_value(
			"Communication", {"message_id": parse_message(raw).message_id})}, "status"), "Open")

	def test_a_single_scope_and_the_default_landing_team(self):
		hd_inbox(TEAM_INBOX, TEAM_ADDRESS, pt_team_scopes=scopes(self.billing))
		self.assertEqual(self.team_of(self.deliver("Invoice wrong")), self.billing)
		hd_inbox(TEAM_INBOX, TEAM_ADDRESS, pt_team_scopes=scopes(self.billing, self.network),
				 pt_default_team=self.network)
		self.assertEqual(self.team_of(self.deliver("Something")), self.network)

	def test_a_queued_mail_opens_a_ticket_in_the_chosen_team(self):
		from persona_threading.frappe_adapter import api

		raw = self.deliver("No route here")
		queued = frappe.db.get_value("PT Inbound Queue", {"communication": frappe.db.get_value(
			"Communication", {"message_id": parse_message(raw).message_id})})
		ticket = api.queue_create_issue(queued, project=self.billing)
		self.assertEqual(frappe.db.get_value("HD Ticket", ticket, "agent_group"), self.billing)

	def put_default(self, value, user="Administrator"):
		from unittest.mock import patch

		from frappe.email.doctype.email_account.email_account import EmailAccount

		with patch.object(EmailAccount, "get_incoming_server"), patch.object(EmailAccount, "validate_smtp_conn"):
			return self.put(self.resource("Email Account", TEAM_INBOX), {"pt_default_team": value},
							headers=api_headers(user))

	def test_default_landing_team_over_rest_is_400_or_403_as_for_projects(self):
		refused = self.put_default(self.other)
		self.assertEqual(refused.status_code, 400, refused.text[-300:])
		self.assertIn("must be one of this inbox", refused.text)
		self.assertEqual(self.put_default("No Such Team 4711").status_code, 400)
		self.assertEqual(self.put_default(self.billing, user=hd_agent()).status_code, 403)
		self.assertEqual(self.put_default(self.billing).status_code, 200)
		self.assertEqual(frappe.db.get_value("Email Account", TEAM_INBOX, "pt_default_team"), self.billing)
		self.assertEqual(self.put_default(None, user=hd_agent()).status_code, 403)
		self.assertEqual(self.put_default(None).status_code, 200)

	def test_team_prefixes_are_validated_like_project_prefixes(self):
		from persona_threading.frappe_adapter.routing_config import PrefixError

		for prefix in ("ptnet", "1bad"):  # PtNet's in another case; not a prefix
			doc = frappe.get_doc("HD Team", self.other)
			doc.pt_inbound_prefix = prefix
			self.assertRaises(PrefixError, doc.save, ignore_permissions=True)


# -- Helpdesk's own assignment for the tickets the app opens ------------------------------------

ROTA_INBOX, ROTA_ADDRESS = "_PT Helpdesk Rota", "rota@pt-hd.example"
ROTA_TEAM = "PT Rota"


def team_with_rotation(name: str, member: str) -> str:
	"""An HD Team with one member: Helpdesk makes the team's assignment rule (round robin over
	its members) and enables it."""
	if not frappe.db.exists("HD Team", name):
		frappe.get_doc({"doctype": "HD Team", "team_name": name, "users": [{"user": member}]}).insert(
			ignore_permissions=True)
	rule = frappe.db.get_value("HD Team", name, "assignment_rule")
	assert rule and not frappe.db.get_value("Assignment Rule", rule, "disabled"), "Helpdesk enabled no rule"
	return name


def rotate_everyone(users: list[str]) -> list[str]:
	"""Helpdesk's base rotation (HD Settings' "Support Rotation": any open ticket, lower priority
	than the teams' rules) enabled for ``users``; returns its users before."""
	rule = frappe.get_doc("Assignment Rule", frappe.db.get_single_value("HD Settings", "base_support_rotation"))
	before = [row.user for row in rule.users if not rule.disabled]
	rule.set("users", [{"user": user} for user in users])
	rule.disabled = int(not users)
	rule.save(ignore_permissions=True)
	return before


class TestHelpdesksOwnAssignment(HelpdeskCase):
	"""A ticket the app opens in a team is one Helpdesk's team rules act on, as on its own tickets:
	with the base rotation on (everyone else's tickets), the team's rule picks its member."""

	def setUp(self):
		self.member = hd_agent()
		self.team = team_with_rotation(ROTA_TEAM, self.member)
		self.account = hd_inbox(ROTA_INBOX, ROTA_ADDRESS, pt_team_scopes=scopes(self.team))
		self.addCleanup(rotate_everyone, rotate_everyone([hd_agent(OTHER_AGENT)]))

	def open_ticket(self, raw: bytes) -> str:
		self.receive(raw, account=self.account)
		return ticket_of(raw)

	def assignees(self, ticket: str) -> list[str]:
		return frappe.get_all("ToDo", {"reference_type": "HD Ticket", "reference_name": ticket, "status": "Open"},
							  pluck="allocated_to")

	def test_a_routed_new_ticket_is_assigned_by_its_teams_assignment_rule(self):
		ticket = self.open_ticket(new_mail(f"c-{uuid.uuid4().hex[:8]}@pt-hd-customer.example", ROTA_ADDRESS,
										   "The label printer is offline", "Since this morning."))
		self.assertEqual(frappe.db.get_value("HD Ticket", ticket, "agent_group"), self.team)
		self.assertEqual(self.assignees(ticket), [self.member])
		self.assertEqual(json.loads(frappe.db.get_value("HD Ticket", ticket, "_assign") or "[]"), [self.member])
		rule = frappe.db.get_value("ToDo", {"reference_type": "HD Ticket", "reference_name": ticket}, "assignment_rule")
		self.assertIn(f"agent_group == '{self.team}'", frappe.db.get_value("Assignment Rule", rule, "assign_condition"),
					  "assigned by the team's rule, not the base rotation")

	def test_an_agents_forward_is_the_forwarders_and_belongs_to_the_original_senders_contact(self):
		forwarder = hd_agent(OTHER_AGENT)  # not in the team's rotation
		frappe.db.set_single_value("PT Settings", "allow_external_forward_requesters", 1)
		self.addCleanup(frappe.db.set_single_value, "PT Settings", "allow_external_forward_requesters", 0)
		original = f"c-{uuid.uuid4().hex[:8]}@pt-hd-customer.example"
		contact = frappe.get_doc({"doctype": "Contact", "first_name": "Someone",
								  "email_ids": [{"email_id": original, "is_primary": 1}]}).insert(ignore_permissions=True)
		ticket = self.open_ticket(forward(forwarder, original, ROTA_ADDRESS))
		self.assertEqual(frappe.db.get_value("HD Ticket", ticket, ["agent_group", "raised_by", "contact"]),
						 (self.team, original, contact.name))
		self.assertEqual(self.assignees(ticket), [forwarder], "the forwarder, not also the team's rotation")


# -- notes written in Helpdesk's agent UI ------------------------------------------------------


def queued_to(address: str, text: str) -> list[str]:
	"""The raw mails queued for ``address`` that contain ``text``."""
	names = frappe.get_all("Email Queue Recipient", filters={"recipient": address}, pluck="parent")
	return [m for m in frappe.get_all("Email Queue", {"name": ["in", names or [""]]}, pluck="message") if text in m]


class TestNotesInHelpdesk(HelpdeskCase):
	def test_a_note_written_in_the_agent_ui_reaches_the_followers_by_mail_never_the_customer(self):
		from persona_threading import api

		first, ticket = self.opened()
		follower, writer = hd_agent(), hd_agent(OTHER_AGENT)
		api.set_participant("HD Ticket", ticket, follower, "Follower", 1)
		note = f"Internal: the customer owes us {uuid.uuid4().hex[:6]} invoices"
		frappe.set_user(writer)
		try:
			frappe.get_doc("HD Ticket", ticket).new_comment(content=f"<p>{note}</p>")  # the agent UI's comment box
		finally:
			frappe.set_user("Administrator")
		frappe.db.commit()
		mails = queued_to(follower, note)
		self.assertEqual(len(mails), 1, "one mail to the follower")
		self.assertIn("[Internal note]", mails[0])
		self.assertIn("thread::", mails[0])  # an answer to it threads onto the ticket
		self.assertEqual(queued_to(parse_message(first).from_addr, note), [], "never to the customer")
		self.assertEqual(queued_to(writer, note), [], "nor to its author")

	def test_notes_a_merge_copies_are_not_mailed_again(self):
		from helpdesk.helpdesk.doctype.hd_ticket.api import merge_ticket

		from persona_threading import api

		(_, source), (_, target) = self.opened(), self.opened()
		follower, writer = hd_agent(), hd_agent(OTHER_AGENT)
		api.set_participant("HD Ticket", target, follower, "Follower", 1)
		note = f"Internal: the old printer had the same fault {uuid.uuid4().hex[:6]}"
		frappe.set_user(writer)
		try:
			frappe.get_doc("HD Ticket", source).new_comment(content=f"<p>{note}</p>")
		finally:
			frappe.set_user("Administrator")
		merge_ticket(source, target)  # Helpdesk copies the source's notes into the target
		frappe.db.commit()
		self.assertTrue(frappe.db.exists("HD Ticket Comment", {"reference_ticket": target, "content": ["like", f"%{note}%"]}))
		self.assertEqual(queued_to(follower, note), [], "a copy of an old note is no news")


# -- the history preview of an HD Ticket inbox ---------------------------------------------------

RUN = uuid.uuid4().hex[:6]  # a history of its own each run: the site keeps every earlier run's mail


class TestPreviewOfAHelpdeskInbox(HelpdeskCase):
	"""The preview replays an HD Ticket inbox as it routes live: into HD Tickets, by HD Teams."""

	def test_stock_mistakes_are_listed_against_hd_tickets_with_team_routing(self):
		billing, network = team("PT Billing", "PtBill"), team("PT Network", "PtNet")
		address = f"hd-preview-{RUN}@pt-hd.example"
		account = hd_inbox(f"_PT HD Preview {RUN}", address, pt_team_scopes=scopes(billing, network))
		customer, other = (f"c-{uuid.uuid4().hex[:8]}@pt-hd-customer.example" for _ in range(2))

		def deliver(sender: str, subject: str, **headers):
			raw = new_mail(sender, address, subject, "Hello", **headers)
			self.receive(raw, account=account)
			return frappe.get_doc("Communication", {"message_id": parse_message(raw).message_id})

		frappe.db.set_single_value("PT Settings", "enabled", 0)  # stock (with Helpdesk's class) routes the history
		try:
			first = deliver(customer, "#PtNet VPN is down")  # both: a new ticket (the engine: team PT Network)
			later = deliver(customer, "One more thing", References=f"<{first.message_id}>")  # stock: a new ticket
			unrouted = deliver(other, "Printer jams")  # two team scopes, no prefix: the engine's manual queue
			away = deliver(other, "Automatic reply: away", Auto_Submitted="auto-replied")  # stock: a ticket
		finally:
			frappe.db.set_single_value("PT Settings", "enabled", 1)
			frappe.db.commit()
		self.assertNotEqual(later.reference_name, first.reference_name, "stock really opened a second ticket")
		doc = frappe.get_doc({"doctype": "PT Preview", "email_account": account.name}).insert()
		doc.start()
		self.assertEqual(doc.total, 4)
		preview.run(doc.name)  # what the worker runs
		doc.reload()
		self.assertEqual((doc.status, doc.processed, doc.disagreement_count), ("Done", 4, 3))
		rows = {row.communication: row for row in doc.disagreements}
		self.assertEqual({(name, row.outcome, row.rule) for name, row in rows.items()}, {
			(later.name, "existing_instead_of_new", "references"),
			(unrouted.name, "queued", "manual_queue"),
			(away.name, "ignored", "auto_reply"),
		})
		self.assertEqual({row.ticket_doctype for row in rows.values()}, {"HD Ticket"})
		self.assertEqual((rows[later.name].stock_ticket, rows[later.name].engine_ticket),
						 (later.reference_name, first.reference_name))
		summary = json.loads(doc.summary)
		self.assertEqual(summary["rules"]["prefix"], {"compared": 1, "disagreements": 0}, "#PtNet names the team")

	def test_a_period_the_app_routed_replays_to_its_live_decisions(self):
		account = hd_inbox()
		first, ticket = self.opened()
		frappe.get_doc("HD Ticket", ticket).reply_via_agent(message=f"<p>Try a restart {RUN}</p>")
		sent = self.outgoing(ticket).as_bytes()
		customer = parse_message(first).from_addr
		answer = customer_reply(sent, customer, "Still broken.", quote=False, in_reply_to=False,
								references=False)  # only the token in its subject links it to the ticket
		self.receive(answer)
		self.assertEqual(ticket_of(answer), ticket)
		since = frappe.db.get_value("Communication", {"message_id": parse_message(first).message_id}, "creation")
		report, stats = preview.replay(account.name, since=str(since.date()))
		answered = frappe.db.get_value("Communication", {"message_id": parse_message(answer).message_id})
		self.assertNotIn(answered, [c.ref for c in report.disagreements])
		self.assertGreaterEqual(report.rules.get("token", {}).get("compared", 0), 1, report.rules)


class TestInHelpdesksAgentUI(FrappeTestCase):
	"""In a real browser (as test_browser.py): the routing entry where Helpdesk agents work, and
	"Why here?" on the desk form of HD Ticket."""

	def setUp(self):
		if not helpdesk_site():
			raise unittest.SkipTest("runs on a site with Frappe Helpdesk only")
		from frappe.utils.password import update_password

		from .test_browser import CHROMIUM, PASSWORD

		if not os.path.exists(CHROMIUM):
			self.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (scripts/run-frappe-tests.sh does)")
		self.agent, self.password = hd_agent(), PASSWORD
		update_password(self.agent, PASSWORD)
		raw = mail(subject="Printer on fire")
		receive(raw, account=hd_inbox())
		reply = mail(sender=parse_message(raw).from_addr, subject="A new subject",
					 References=f"<{parse_message(raw).message_id}>")
		receive(reply, account=hd_inbox())
		frappe.db.commit()
		self.ticket = ticket_of(raw)

	def test_the_ticket_in_helpdesk_shows_the_routing_entry_and_the_desk_form_why_here(self):
		from playwright.sync_api import expect, sync_playwright

		from .test_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, bench_serve

		with bench_serve() as url, sync_playwright() as p:
			browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
			page = browser.new_page(viewport={"width": 1400, "height": 1000})
			try:
				page.goto(f"{url}/login")
				page.fill("#login_email", self.agent)
				page.fill("#login_password", self.password)
				page.click(".btn-login")
				page.wait_for_load_state("networkidle")
				page.goto(f"{url}/helpdesk/tickets/{self.ticket}")
				unfold = page.locator("div.inline-flex:has-text('changes from') button")  # Helpdesk folds
				unfold.first.wait_for(timeout=60000)  # one user's consecutive activity rows
				unfold.first.click()
				expect(page.get_by_text("Email routing: Threaded: it refers to a mail of this conversation")
					   .first).to_be_visible(timeout=60000)
				page.goto(f"{url}/app/hd-ticket/{self.ticket}")
				page.wait_for_function("() => window.cur_frm && String(cur_frm.docname) === %r" % self.ticket,
									   timeout=60000)
				page.get_by_role("button", name="Why here?").click()
				expect(page.locator(".modal.show .pt-why-message")).to_have_count(2, timeout=15000)
			except Exception:
				os.makedirs(SCREENSHOTS, exist_ok=True)
				page.screenshot(path=os.path.join(SCREENSHOTS, f"{self.id()}.png"))
				raise
			finally:
				browser.close()
