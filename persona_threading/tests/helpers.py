"""Shared set-up for the Frappe suite: a support inbox, and mail through the real receive()."""

from __future__ import annotations

import uuid
from unittest.mock import patch

import frappe
from frappe.email.receive import EmailServer

from persona_threading.demo.client import new_mail

INBOX = "_PT Support"
INBOX_ADDRESS = "support@pt-test.example"


def ensure_default_outgoing() -> str:
	"""A default outgoing Email Account, as every helpdesk site has one (and Frappe's CI too).

	Stock sends notifications on received mail and Frappe's own Email Account tests send
	mail; without a default outgoing account both fail with OutgoingEmailError. Frappe's own
	test account is used, so its Email Account tests see what they expect. Also run by
	scripts/run-frappe-tests.sh (``bench execute``) before those tests.
	"""
	from frappe.test_runner import make_test_records

	current = frappe.db.get_value("Email Account", {"default_outgoing": 1, "enable_outgoing": 1}, "name")
	if current:
		return current
	make_test_records("Email Account", commit=True)
	frappe.db.set_value("Email Account", "_Test Email Account 1", "default_outgoing", 1)
	frappe.db.commit()
	return "_Test Email Account 1"


def support_inbox(name: str = INBOX, address: str = INBOX_ADDRESS, scopes=(), default_project=None):
	"""An IMAP Email Account whose INBOX appends to Issue (incoming and outgoing)."""
	ensure_default_outgoing()
	# Stock caches outgoing accounts per process and, once "default" is cached, answers every
	# later sender with it: a test's mail "from" this inbox would go out (and be recorded)
	# through another account. Each request starts afresh on a live site; tests must too.
	frappe.local.outgoing_email_account = {}
	if not frappe.db.exists("Email Account", name):
		frappe.get_doc(
			{
				"doctype": "Email Account",
				"email_account_name": name,
				"email_id": address,
				"password": "password",
				"enable_incoming": 1,
				"enable_outgoing": 1,
				"use_imap": 1,
				"email_server": "imap.pt-test.example",
				"smtp_server": "smtp.pt-test.example",
				"enable_auto_reply": 0,
				"imap_folder": [{"folder_name": "INBOX", "append_to": "Issue"}],
				"pt_project_scopes": [{"project": p, "approved": 1, "receive_enabled": 1} for p in scopes],
				"pt_default_project": default_project,
			}
		).insert(ignore_permissions=True)
	return frappe.get_doc("Email Account", name)


def ensure_company() -> str:
	"""Projects need a Company; a fresh ERPNext site without the setup wizard has none."""
	company = frappe.db.get_value("Company", {}, "name")
	if company:
		return company
	return frappe.get_doc(
		{"doctype": "Company", "company_name": "_PT Test Company", "abbr": "_PTC", "default_currency": "USD",
		 "country": "United States"}
	).insert(ignore_permissions=True).name


def receive(*raw_mails: bytes | str, account=None):
	"""Deliver raw mails through EmailAccount.receive(), only the mail server replaced.

	Bytes, as the IMAP server hands them to stock's EmailServer (text is sent as UTF-8)."""
	account = account or support_inbox()
	messages = {
		'"INBOX"': {
			"latest_messages": [m if isinstance(m, bytes) else m.encode("utf-8", "surrogateescape") for m in raw_mails],
			"seen_status": {},
			"uid_list": [],
		}
	}
	with (
		patch.object(EmailServer, "select_imap_folder", return_value=True),
		patch.object(EmailServer, "logout", side_effect=lambda: None),
		patch.object(EmailServer, "get_messages", side_effect=lambda **kw: messages.get(kw["folder"], {})),
		patch.object(EmailServer, "connect", return_value=True),
	):
		account.receive()


def unique_customer() -> str:
	return f"customer-{uuid.uuid4().hex[:10]}@pt-customer.example"


def first_mail(sender: str, subject: str | None = None, **headers) -> bytes:
	return new_mail(sender, INBOX_ADDRESS, subject or f"Printer broken {uuid.uuid4().hex[:6]}",
					"The printer on floor 3 jams.", **headers)


def customer_writes_in(customer: str | None = None) -> tuple[str, str, bytes]:
	"""A customer's first mail through receive(): (customer, the Issue it opened, the raw mail)."""
	customer = customer or unique_customer()
	raw = first_mail(customer)
	receive(raw)
	return customer, issue_of(raw), raw


def communication_for(message_id: str):
	return frappe.get_doc("Communication", {"message_id": message_id})


def timeline(doctype: str, name: str) -> list[str]:
	"""What the document's timeline says about routing: each mail's line and notes, the Info rows."""
	from persona_threading.frappe_adapter.timeline import texts

	return texts(doctype, name)


def project(prefix: str) -> str:
	"""A project with this inbound prefix (created once)."""
	existing = frappe.db.get_value("Project", {"pt_inbound_prefix": prefix})
	if existing:
		return existing
	return frappe.get_doc({"doctype": "Project", "project_name": f"PT {prefix} {uuid.uuid4().hex[:4]}",
						   "company": ensure_company(), "pt_inbound_prefix": prefix}).insert(
		ignore_permissions=True).name


#: Where unrouted_inbox() receives: new mail there waits in the manual queue.
UNROUTED_ADDRESS = "nobody-routes@pt-test.example"


def unrouted_inbox():
	"""An inbox with a project scope that nothing routes to: new mail waits in the queue."""
	account = support_inbox("_PT Nobody", UNROUTED_ADDRESS)
	if not account.get("pt_project_scopes"):
		account.append("pt_project_scopes", {"project": project("PTNOONE"), "approved": 1, "receive_enabled": 0})
		account.save(ignore_permissions=True)
	return account


def agent(email: str, enabled: bool = True) -> str:
	"""An internal user (System User via the Support Team role), created once and reused.

	Test users have fixed addresses: Frappe throttles creating more than 60 users an hour.
	"""
	if frappe.db.exists("User", email):
		frappe.db.set_value("User", email, "enabled", int(enabled))
		return email
	frappe.get_doc({"doctype": "User", "email": email, "first_name": email.split("@")[0],
					"send_welcome_email": 0, "enabled": int(enabled),
					"roles": [{"role": "Support Team"}]}).insert(ignore_permissions=True)
	return email


def issue_of(raw: bytes) -> str:
	from persona_threading.engine.message import parse_message

	return communication_for(parse_message(raw).message_id).reference_name


def api_headers(user: str) -> dict:
	"""Token authentication headers for REST calls as ``user`` (a fresh secret each call)."""
	doc = frappe.get_doc("User", user)
	secret = frappe.generate_hash(length=15)
	doc.api_key = doc.api_key or frappe.generate_hash(length=15)
	doc.api_secret = secret
	doc.save(ignore_permissions=True)
	frappe.db.commit()
	return {"Authorization": f"token {doc.api_key}:{secret}"}
