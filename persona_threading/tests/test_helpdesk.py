"""Frappe Helpdesk: mail into HD Ticket as well as Issue (issue 23).

Runs on a site with Frappe Helpdesk (scripts/run-frappe-tests.sh: helpdesk.localhost, built by
scripts/bench/build.sh); on any other site every test here is skipped. The table of the issue,
row by row, in both install orders, reordered in place: "after" puts the app after Helpdesk in
the site's installed apps; "before" puts it before, shows that Helpdesk's class would then be
in effect, and runs the app's install hook as ``frappe.installer.install_app("helpdesk")``
does after installing Helpdesk. Both orders with the real ``bench install-app`` (and a fresh
process reading Frappe's cached hooks, which this in-place reorder cannot show): install_order.py.
Teams, notes, the preview and the agent UI: test_helpdesk_agents.py.
"""

from __future__ import annotations

import email
import json
import unittest
import uuid
from email import policy

import frappe
from frappe.cache_manager import clear_controller_cache
from frappe.tests.test_api import FrappeAPITestCase
from frappe.tests.utils import FrappeTestCase

from persona_threading.demo.client import customer_reply, new_mail
from persona_threading.engine.message import parse_message
from persona_threading.frappe_adapter import account_class, conversations, helpdesk

from .helpers import api_headers, ensure_default_outgoing, receive, timeline

INBOX = "_PT Helpdesk"
INBOX_ADDRESS = "helpdesk@pt-hd.example"
HELPDESK_CLASS = "helpdesk.overrides.email_account.CustomEmailAccount"
CUSTOMER = "pt-hd-customer@pt-hd-customer.example"  # fixed: Frappe throttles creating users
AGENT = "pt-hd-agent@pt-hd.example"


def helpdesk_site() -> bool:
	return "helpdesk" in frappe.get_installed_apps()


def hd_inbox(name: str = INBOX, address: str = INBOX_ADDRESS, **values):
	"""An IMAP Email Account whose INBOX appends to HD Ticket (what Helpdesk's "connect email"
	makes), created once; ``values`` (e.g. ``enable_auto_reply``, ``pt_team_scopes``) are saved."""
	ensure_default_outgoing()
	if not frappe.db.exists("Email Account", name):
		frappe.get_doc({
			"doctype": "Email Account", "email_account_name": name, "email_id": address, "password": "password",
			"enable_incoming": 1, "enable_outgoing": 1, "use_imap": 1, "email_server": "imap.pt-hd.example",
			"smtp_server": "smtp.pt-hd.example", "imap_folder": [{"folder_name": "INBOX", "append_to": "HD Ticket"}],
		}).insert(ignore_permissions=True)
	doc = frappe.get_doc("Email Account", name)
	if values:
		doc.update(values)
		doc.save(ignore_permissions=True)
	return doc


def scopes(*teams: str) -> list[dict]:
	return [{"team": t, "approved": 1, "receive_enabled": 1} for t in teams]


def team(name: str, prefix: str | None = None) -> str:
	if not frappe.db.exists("HD Team", name):
		frappe.get_doc({"doctype": "HD Team", "team_name": name}).insert(ignore_permissions=True)
	frappe.db.set_value("HD Team", name, "pt_inbound_prefix", prefix)
	return name


def mail(sender: str | None = None, subject: str | None = None, text: str = "The printer on floor 3 jams.",
		 **headers) -> bytes:
	return new_mail(sender or f"c-{uuid.uuid4().hex[:8]}@pt-hd-customer.example", INBOX_ADDRESS,
					subject or f"Printer broken {uuid.uuid4().hex[:6]}", text, **headers)


def ticket_of(raw: bytes) -> str | None:
	name = frappe.db.get_value("Communication", {"message_id": parse_message(raw).message_id}, "reference_name")
	return str(name) if name else None


def stored(raw: bytes) -> bool:
	return bool(frappe.db.exists("Communication", {"message_id": parse_message(raw).message_id}))


def settle():
	"""What receive() leaves for after its commit (Helpdesk's acknowledgement) has run."""
	frappe.db.commit()


def set_order(order: list[str]) -> None:
	frappe.db.set_global("installed_apps", json.dumps(order))
	frappe.db.commit()
	frappe.clear_cache()
	clear_controller_cache("Email Account")
	conversations.forget()


class HelpdeskCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		if not helpdesk_site():
			raise unittest.SkipTest("runs on a site with Frappe Helpdesk only (scripts/run-frappe-tests.sh: helpdesk.localhost)")
		cls.order = frappe.get_installed_apps()
		frappe.db.set_single_value("PT Settings", "enabled", 1)
		frappe.db.set_single_value("HD Settings", "send_acknowledgement_email", 0)
		frappe.db.set_single_value("HD Settings", "skip_email_workflow", 0)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		if helpdesk_site():
			set_order(cls.order)
		super().tearDownClass()

	def tearDown(self):
		# Frappe caches the outgoing account per process, and once a "default" is cached (Helpdesk's
		# acknowledgement and feedback mail name no sender) it answers every later lookup: a test
		# process, unlike a request, lives on, so later suites would send from the wrong account.
		frappe.local.outgoing_email_account = {}
		super().tearDown()

	def receive(self, *raws: bytes, account=None):
		receive(*raws, account=account or hd_inbox())
		settle()

	def opened(self) -> tuple[bytes, str]:
		"""A customer's first mail through receive(): (the mail, the HD Ticket it opened)."""
		first = mail()
		self.receive(first)
		return first, ticket_of(first)

	def outgoing(self, ticket: str) -> email.message.EmailMessage:
		"""The newest queued mail about the ticket, as it will be sent."""
		raw = frappe.get_all("Email Queue", {"reference_doctype": "HD Ticket", "reference_name": ticket},
							 ["message"], order_by="creation desc", limit=1)[0].message
		return email.message_from_string(raw, policy=policy.SMTP)


class TestInstallOrder(HelpdeskCase):
	"""Row 1: the Email Account class in effect, in either install order."""

	def put(self, where: str) -> None:
		apps = [app for app in self.order if app not in ("helpdesk", "persona_threading")]
		set_order(apps + (["helpdesk", "persona_threading"] if where == "after" else ["persona_threading", "helpdesk"]))

	def test_app_installed_after_helpdesk_builds_on_its_class(self):
		self.put("after")
		controller = frappe.get_doc("Email Account", hd_inbox().name)
		names = [f"{c.__module__}.{c.__qualname__}" for c in type(controller).__mro__]
		self.assertEqual(account_class.HOOK, names[0])
		self.assertIn(HELPDESK_CLASS, names, "Helpdesk's class still runs under the app's")
		self.assertEqual(account_class.status()["built_on"], HELPDESK_CLASS)

	def test_app_installed_before_helpdesk_moves_last_and_builds_on_it(self):
		self.put("before")
		self.assertEqual(account_class.status()["in_effect"], HELPDESK_CLASS)  # the trap the issue describes
		for fn in frappe.get_hooks("after_app_install"):  # as install_app("helpdesk") ends
			frappe.get_attr(fn)("helpdesk")
		self.assertEqual(frappe.get_installed_apps()[-1], "persona_threading")
		state = account_class.status()
		self.assertTrue(state["ours"])
		self.assertEqual(state["built_on"], HELPDESK_CLASS)

	def test_another_class_winning_is_told_never_silent(self):
		self.put("before")  # e.g. an admin reordered the apps: Helpdesk's class wins
		frappe.db.delete("Notification Log", {"document_type": "PT Settings"})
		self.assertFalse(account_class.check())
		logs = frappe.get_all("Notification Log", {"document_type": "PT Settings", "for_user": "Administrator"},
							  ["subject", "email_content"])
		self.assertEqual(len(logs), 1)
		self.assertIn(HELPDESK_CLASS, logs[0].subject)
		account_class.check()  # told once per class, not on every check
		self.assertEqual(frappe.db.count("Notification Log", {"document_type": "PT Settings", "for_user": "Administrator"}), 1)
		banner = account_class.class_in_effect()  # what PT Settings shows
		self.assertFalse(banner["ours"])
		self.assertIn(HELPDESK_CLASS, banner["message"])
		self.assertIn("put_last", banner["fix"])
		self.assertTrue(account_class.use_app_class()["ours"])  # the banner's button
		self.assertEqual(account_class.status()["built_on"], HELPDESK_CLASS)


class TestTheIssueTable(HelpdeskCase):
	"""Rows 2-7 of the issue's table, in both install orders."""

	def in_each_order(self, check):
		apps = [app for app in self.order if app not in ("helpdesk", "persona_threading")]
		for where, order in (("after", apps + ["helpdesk", "persona_threading"]),
							 ("before", apps + ["persona_threading", "helpdesk"])):
			with self.subTest(installed=where):
				set_order(order)
				if where == "before":
					for fn in frappe.get_hooks("after_app_install"):
						frappe.get_attr(fn)("helpdesk")
				check()

	def test_new_mail_opens_a_ticket_with_a_routing_record(self):
		def check():
			raw = mail()
			self.receive(raw)
			ticket = ticket_of(raw)
			self.assertTrue(ticket, "no HD Ticket")
			self.assertEqual(frappe.db.get_value("HD Ticket", ticket, "raised_by"), parse_message(raw).from_addr)
			conversation = frappe.db.get_value("PT Conversation", {"reference_doctype": "HD Ticket",
																   "reference_name": ticket})
			self.assertTrue(conversation)
			self.assertEqual(frappe.db.get_value("PT Conversation Message", {"conversation": conversation}, "rule"), "new")
			activity = frappe.get_all("HD Ticket Activity", {"ticket": ticket}, pluck="action")
			self.assertTrue(any(a.startswith("Email routing: Opened this") for a in activity), activity)
		self.in_each_order(check)

	def test_references_only_reply_with_a_new_subject_threads(self):
		def check():
			first, ticket = self.opened()
			reply = mail(sender=parse_message(first).from_addr, subject="Something else entirely",
						 References=f"<{parse_message(first).message_id}>")
			self.receive(reply)
			self.assertEqual(ticket_of(reply), ticket)
		self.in_each_order(check)

	def test_agent_reply_from_helpdesk_is_threaded_and_the_customer_reply_lands_on_it(self):
		def check():
			first, ticket = self.opened()
			frappe.get_doc("HD Ticket", ticket).reply_via_agent(message="<p>Try turning it off and on.</p>")
			sent = self.outgoing(ticket)
			self.assertEqual(sent["In-Reply-To"], f"<{parse_message(first).message_id}>")
			self.assertIn(f"<{parse_message(first).message_id}>", sent["References"])
			self.assertIn("thread::", str(sent["Subject"]))
			self.assertIn("thread::", sent.get_body(("html",)).get_content())
			message_id = parse_message(sent.as_bytes()).message_id
			self.assertTrue(frappe.db.exists("PT Conversation Message", {"message_id": message_id, "direction": "Outbound"}))
			answer = customer_reply(sent.as_bytes(), parse_message(first).from_addr, "Still broken.", quote=False)
			self.receive(answer)
			self.assertEqual(ticket_of(answer), ticket)
		self.in_each_order(check)

	def test_helpdesks_feedback_mail_is_threaded_too(self):
		frappe.db.set_single_value("HD Settings", {"enable_email_ticket_feedback": 1,
												   "send_email_feedback_on_status": "Resolved"})
		self.addCleanup(frappe.db.set_single_value, "HD Settings", "enable_email_ticket_feedback", 0)
		first, ticket = self.opened()
		doc = frappe.get_doc("HD Ticket", ticket)
		doc.status = "Resolved"
		doc.save(ignore_permissions=True)
		sent = self.outgoing(doc.name)
		self.assertEqual(sent["X-Auto-Generated"], "hd-email-feedback")
		self.assertEqual(sent["In-Reply-To"], f"<{parse_message(first).message_id}>")
		self.assertIn("thread::", str(sent["Subject"]))
		self.assertEqual(sent["Auto-Submitted"], "auto-replied")

	def test_unthreaded_out_of_office_opens_no_ticket(self):
		def check():
			ooo = mail(subject="Out of office", Auto_Submitted="auto-replied")
			self.receive(ooo)
			self.assertTrue(stored(ooo), "nothing is dropped: it is stored")
			self.assertFalse(ticket_of(ooo))
			self.assertEqual(frappe.db.get_value("PT Inbound Queue", {"subject": parse_message(ooo).subject}, "status"),
							 "Suspended")
		self.in_each_order(check)

	def test_a_raw_8_bit_mail_is_stored_not_the_whole_pull_dropped(self):
		def check():
			latin1 = mail(subject="Bestellung", text="Grüße").replace(b"Content-Transfer-Encoding: 7bit", b"")
			latin1 = latin1.replace("Grüße".encode("utf-8"), "Grüße".encode("latin-1"))
			latin1 = latin1.replace(b"Subject: Bestellung", "Subject: Bestätigung".encode("latin-1"))
			other = mail()
			self.receive(latin1, other)
			self.assertTrue(ticket_of(latin1) and ticket_of(other))
		self.in_each_order(check)

	def test_x_auto_generated_mail_is_skipped_as_helpdesk_does(self):
		def check():
			acknowledgement = mail(subject="Ticket #1: We've received your request", X_Auto_Generated="hd-acknowledgement")
			self.receive(acknowledgement)
			self.assertFalse(stored(acknowledgement))
		self.in_each_order(check)


class TestLifecycleAndForwards(HelpdeskCase):
	"""The chain decides a ticket's status on receipt, not Helpdesk's "Open on any mail"."""

	def reply(self, first: bytes, text: str) -> bytes:
		raw = mail(sender=parse_message(first).from_addr, subject=f"Re: {parse_message(first).subject}", text=text,
				   In_Reply_To=f"<{parse_message(first).message_id}>")
		self.receive(raw)
		return raw

	def reply_while(self, status: str, text: str) -> tuple[bytes, str, bytes]:
		"""(first mail, its ticket, the customer's reply) to a ticket set to ``status``."""
		first, ticket = self.opened()
		frappe.db.set_value("HD Ticket", ticket, "status", status)
		return first, ticket, self.reply(first, text)

	def test_a_thank_you_keeps_a_resolved_ticket_resolved(self):
		_first, ticket, thanks = self.reply_while("Resolved", "Thanks, problem solved!")
		self.assertEqual(ticket_of(thanks), ticket)
		self.assertEqual(frappe.db.get_value("HD Ticket", ticket, "status"), "Resolved")

	def test_a_reply_while_awaiting_input_resumes_the_ticket(self):
		_first, ticket, _reply = self.reply_while("Replied", "Here is the log you asked for.")
		self.assertEqual(frappe.db.get_value("HD Ticket", ticket, "status"), "Open")

	def test_a_reply_to_a_closed_ticket_opens_a_new_linked_one(self):
		first, ticket, again = self.reply_while("Closed", "It is broken again.")
		new = ticket_of(again)
		self.assertNotEqual(new, ticket)
		self.assertEqual(frappe.db.get_value("HD Ticket", ticket, "status"), "Closed")
		self.assertEqual(frappe.db.get_value("HD Ticket", new, "raised_by"), parse_message(first).from_addr)
		# Each ticket's desk timeline names the other: the new one under its mail's routing line.
		self.assertTrue(any(f"HD Ticket {ticket}" in line for line in timeline("HD Ticket", new)), timeline("HD Ticket", new))
		self.assertTrue(any(f"HD Ticket {new}" in line for line in timeline("HD Ticket", ticket)),
						timeline("HD Ticket", ticket))

	def test_machine_mail_threads_silently(self):
		first, ticket = self.opened()
		frappe.db.set_value("HD Ticket", ticket, "status", "Replied")
		ooo = mail(sender=parse_message(first).from_addr, subject="Automatic reply: away", Auto_Submitted="auto-replied",
				   In_Reply_To=f"<{parse_message(first).message_id}>")
		self.receive(ooo)
		self.assertEqual(ticket_of(ooo), ticket)
		self.assertEqual(frappe.db.get_value("HD Ticket", ticket, "status"), "Replied")

	def test_an_agents_forward_is_raised_by_the_original_sender_and_assigned_to_the_agent(self):
		agent = hd_agent()
		frappe.db.set_single_value("PT Settings", "allow_external_forward_requesters", 1)
		self.addCleanup(frappe.db.set_single_value, "PT Settings", "allow_external_forward_requesters", 0)
		original = f"c-{uuid.uuid4().hex[:8]}@pt-hd-customer.example"
		raw = forward(agent, original, INBOX_ADDRESS)
		self.receive(raw)
		ticket = ticket_of(raw)
		self.assertEqual(frappe.db.get_value("HD Ticket", ticket, "raised_by"), original)
		self.assertEqual(frappe.get_all("ToDo", {"reference_type": "HD Ticket", "reference_name": ticket,
												  "status": "Open"}, pluck="allocated_to"), [agent])

	def test_the_journal_is_empty_after_a_pull_and_machine_mail_is_in_the_decision(self):
		ooo = mail(subject="Out of office", X_Autoreply="yes")
		self.receive(ooo)
		self.assertFalse(frappe.get_all("PT Inbound Journal", {"email_account": INBOX}))
		decision = json.loads(frappe.db.get_value("PT Conversation Message",
												  {"message_id": parse_message(ooo).message_id}, "decision"))
		self.assertEqual(decision["machine"]["kind"], "auto_reply")
		self.assertEqual(decision["action"], "ignored")

	def test_the_flood_guard_queues_a_senders_new_tickets_past_the_limit(self):
		frappe.db.set_single_value("PT Settings", {"flood_conversations": 2, "flood_minutes": 10})
		self.addCleanup(frappe.db.set_single_value, "PT Settings", {"flood_conversations": 10, "flood_minutes": 10})
		sender = f"c-{uuid.uuid4().hex[:8]}@pt-hd-customer.example"
		raws = [mail(sender=sender) for _ in range(3)]
		self.receive(*raws)
		self.assertTrue(ticket_of(raws[0]) and ticket_of(raws[1]))
		self.assertFalse(ticket_of(raws[2]))
		self.assertEqual(frappe.db.get_value("PT Inbound Queue", {"sender": sender}, "reason"), "Flood guard")

	def test_ccs_of_the_first_mail_are_ccs_of_the_ticket(self):
		cc = f"cc-{uuid.uuid4().hex[:8]}@pt-hd-customer.example"
		first = mail(Cc=cc)
		self.receive(first)
		conversation = frappe.db.get_value("PT Conversation", {"reference_doctype": "HD Ticket",
															   "reference_name": ticket_of(first)})
		self.assertEqual(frappe.db.get_value("PT Conversation Follower", {"conversation": conversation, "email": cc},
											 "role"), "CC")

	def test_issue_mail_keeps_working_on_the_same_site(self):
		from .helpers import INBOX_ADDRESS as ISSUE_INBOX
		from .helpers import support_inbox

		raw = new_mail(f"c-{uuid.uuid4().hex[:8]}@pt-hd-customer.example", ISSUE_INBOX, "Issue mail", "Hello")
		receive(raw, account=support_inbox())
		name = frappe.db.get_value("Communication", {"message_id": parse_message(raw).message_id},
								   ["reference_doctype", "reference_name"])
		self.assertEqual(name[0], "Issue")
		self.assertTrue(frappe.db.exists("PT Conversation", {"reference_doctype": "Issue", "reference_name": name[1]}))


def forward(agent: str, original: str, to: str) -> bytes:
	"""An agent's forward of a customer's mail to a helpdesk address."""
	body = (f"Can you take this one?\n\n---------- Forwarded message ---------\nFrom: Someone <{original}>\n"
			f"Date: Mon, 16 Nov 2026 at 09:00\nSubject: VPN down\nTo: {agent}\n\nThe VPN is down again.")
	return new_mail(agent, to, "Fwd: VPN down", body)


def hd_agent(email: str = AGENT) -> str:
	"""A Helpdesk agent (System User with Helpdesk's Agent role), created once."""
	if not frappe.db.exists("User", email):
		frappe.get_doc({"doctype": "User", "email": email, "first_name": "HD Agent", "send_welcome_email": 0,
						"roles": [{"role": "Agent"}]}).insert(ignore_permissions=True)
	if not frappe.db.exists("HD Agent", email):
		frappe.get_doc({"doctype": "HD Agent", "user": email, "agent_name": "HD Agent"}).insert(ignore_permissions=True)
	return email


class TestOneAutomaticReply(HelpdeskCase):
	"""Helpdesk's acknowledgement and the inbox's auto-reply never both go out; the limits hold."""

	def setUp(self):
		frappe.db.set_single_value("HD Settings", "send_acknowledgement_email", 1)
		self.addCleanup(frappe.db.set_single_value, "HD Settings", "send_acknowledgement_email", 0)
		self.account = hd_inbox(enable_auto_reply=1)
		self.addCleanup(hd_inbox, enable_auto_reply=0)

	def automatic_mails(self, ticket: str) -> list[str]:
		return [m for m in frappe.get_all("Email Queue", {"reference_doctype": "HD Ticket", "reference_name": ticket},
										  pluck="message") if "Auto-Submitted: auto-replied" in m]

	def test_a_new_ticket_gets_helpdesks_acknowledgement_only(self):
		raw = mail()
		self.receive(raw)
		sent = self.automatic_mails(ticket_of(raw))
		self.assertEqual(len(sent), 1, "exactly one automatic reply")
		self.assertIn("X-Auto-Generated: hd-acknowledgement", sent[0])
		self.assertIn("thread::", sent[0])  # a human answer to it threads
		self.assertIn(f"<{parse_message(raw).message_id}>", sent[0])  # In-Reply-To the customer's mail

	def test_the_inbox_auto_reply_when_helpdesks_acknowledgement_is_off(self):
		frappe.db.set_single_value("HD Settings", "send_acknowledgement_email", 0)
		raw = mail()
		self.receive(raw)
		ticket = ticket_of(raw)
		sent = self.automatic_mails(ticket)
		self.assertEqual(len(sent), 1)
		self.assertNotIn("X-Auto-Generated", sent[0])
		self.assertFalse(frappe.db.get_value("HD Ticket", ticket, "first_responded_on"), "a robot's mail is no response")
		self.assertEqual(frappe.db.get_value("HD Ticket", ticket, "status"), "Open")

	def test_loop_protection_and_age_cut_off_apply_to_the_acknowledgement(self):
		sender = f"c-{uuid.uuid4().hex[:8]}@pt-hd-customer.example"
		first, second = mail(sender=sender), mail(sender=sender)
		self.receive(first)
		self.receive(second)
		self.assertEqual(len(self.automatic_mails(ticket_of(first))), 1)
		self.assertEqual(self.automatic_mails(ticket_of(second)), [], "one per address per window")
		self.assertIn("per", frappe.db.get_value("PT Automatic Mail", {"recipient": sender, "sent": 0}, "reason"))
		frappe.db.set_value("Email Account", INBOX, "pt_auto_reply_max_age_hours", 24)
		self.addCleanup(frappe.db.set_value, "Email Account", INBOX, "pt_auto_reply_max_age_hours", 0)
		old = mail()
		old = old.replace(b"Date: ", b"Date: Mon, 02 Nov 2026 09:00:00 +0000\r\nX-Old-Date: ", 1)
		self.receive(old)
		self.assertTrue(ticket_of(old))
		self.assertEqual(self.automatic_mails(ticket_of(old)), [])
		self.assertIn("hours old", frappe.db.get_value("PT Automatic Mail",
													   {"recipient": parse_message(old).from_addr}, "reason"))

	def test_suspected_machine_mail_opens_a_ticket_but_gets_no_acknowledgement(self):
		raw = mail(subject="Automatic reply: vacation")
		self.receive(raw)
		self.assertTrue(ticket_of(raw))
		self.assertEqual(self.automatic_mails(ticket_of(raw)), [])


class TestPrivacyInHelpdesk(FrappeAPITestCase):
	"""A private mail never reaches the customer through Helpdesk's own endpoints (over HTTP)."""

	def test_a_third_partys_reply_is_not_in_the_customers_ticket(self):
		if not helpdesk_site():
			raise unittest.SkipTest("runs on a site with Frappe Helpdesk only")
		hd_inbox()
		if not frappe.db.exists("User", CUSTOMER):
			frappe.get_doc({"doctype": "User", "email": CUSTOMER, "first_name": "Portal", "user_type": "Website User",
							"send_welcome_email": 0}).insert(ignore_permissions=True)
		agent = hd_agent()
		first = new_mail(CUSTOMER, INBOX_ADDRESS, f"Portal printer {uuid.uuid4().hex[:6]}", "It jams.")
		receive(first, account=hd_inbox())
		ticket = ticket_of(first)
		stranger = new_mail(f"s-{uuid.uuid4().hex[:8]}@pt-hd-stranger.example", INBOX_ADDRESS, "Re: printer",
							"A stranger writes", In_Reply_To=f"<{parse_message(first).message_id}>")
		receive(stranger, account=hd_inbox())
		frappe.db.commit()
		private = frappe.db.get_value("Communication", {"message_id": parse_message(stranger).message_id}, "name")
		self.assertEqual(frappe.db.get_value("PT Conversation Message", {"communication": private}, "visibility"), "Private")
		url = self.method(helpdesk.GET_ONE)
		as_customer = self.get(url, {"name": ticket, "is_customer_portal": 1}, headers=api_headers(CUSTOMER))
		self.assertEqual(as_customer.status_code, 200, as_customer.text[-500:])
		shown = [c["name"] for c in as_customer.json["message"]["communications"]]
		self.assertIn(frappe.db.get_value("Communication", {"message_id": parse_message(first).message_id}), shown)
		self.assertNotIn(private, shown)
		self.assertNotIn("stranger", as_customer.text)
		listed = self.get(self.resource("Communication"), {"filters": json.dumps({"reference_name": ticket}),
														   "fields": json.dumps(["name"])}, headers=api_headers(CUSTOMER))
		self.assertNotIn(private, listed.text)
		note = new_mail(agent, INBOX_ADDRESS, "Re: printer", "Internal: the customer's printer is out of warranty",
						In_Reply_To=f"<{parse_message(first).message_id}>")  # to the helpdesk only: a note
		receive(note, account=hd_inbox())
		frappe.db.commit()
		internal = frappe.db.get_value("Communication", {"message_id": parse_message(note).message_id}, "name")
		as_customer = self.get(url, {"name": ticket, "is_customer_portal": 1}, headers=api_headers(CUSTOMER))
		self.assertNotIn(internal, [c["name"] for c in as_customer.json["message"]["communications"]])
		self.assertNotIn("warranty", as_customer.text)
		as_agent = self.get(url, {"name": ticket}, headers=api_headers(agent))
		self.assertEqual(as_agent.status_code, 200, as_agent.text[-500:])
		marked = {c["name"]: c.get("pt_private") for c in as_agent.json["message"]["communications"]}
		self.assertEqual(marked.get(private), 1)
