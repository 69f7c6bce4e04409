"""Day one on a live helpdesk (issue 19): history first, then the app; and its uninstall.

Installing and uninstalling an app are separate bench processes, so this is a driver of
steps, each a process of its own (``python -m persona_threading.tests.adoption SITE STEP [ARG]``
in the bench's sites folder: ``bench execute`` refuses an app the site does not have),
orchestrated by scripts/adoption-test.sh (part of scripts/run-frappe-tests.sh):

1. the site runs stock Frappe + ERPNext without the app: ``stock_history install`` (a customer's
   request with a CC, stock's auto-reply with the Email Account field's own ProTip template
   and a Jinja block, an agent's answer from the Issue);
2. ``bench install-app persona_threading``, nothing else; ``replies``: the customer's reply
   by In-Reply-To, a References-only reply with a new subject, the CC's reply and a reply to
   stock's auto-reply land on the existing Issue, the CC is an active CC, and a new
   request's automatic reply reads ``Reference: Issue ISS-…`` with the block evaluated;
3. the same with the app installed but PT Settings' Enabled off for the history, then on
   (``stock_history switch_on``, ``replies switch_on``);
4. ``bench uninstall-app persona_threading``; ``stock_again``: a new mail opens an Issue
   through stock code, the forms still load and save, and no custom field or permission row
   of the app is left (compared with the site before the first install).

Each check prints ``PASS name`` or ``FAIL name: why``; a step with a failure exits non-zero.
What one step hands the next is kept in the site's folder (adoption-state.json).
"""

from __future__ import annotations

import json
import os
import uuid

import frappe

INBOX, ADDRESS = "_PT Adoption Support", "support@pt-adopt.example"
AGENT = "pt-adopt-agent@pt-adopt.example"
# The Email Account field's own ProTip, and a Jinja block as stock renders it.
TEMPLATE = ("<p>Thank you for writing to us.</p><p>Reference: {{ reference_doctype }} {{ reference_name }}</p>"
			"{% if subject %}<p>About: {{ subject }}</p>{% else %}<p>No subject</p>{% endif %}")
STATE = "adoption-state.json"
#: The two histories (scripts/adoption-test.sh passes the label): how each check line names it.
HISTORY = {"install": "app not installed yet", "switch_on": "app installed, switched off"}
AFTER = {"install": "after install-app", "switch_on": "after switching on"}


class Checks:
	def __init__(self, step: str):
		self.step, self.failed = step, []

	def check(self, name: str, ok: bool, why: str = "") -> bool:
		if ok:
			print(f"PASS {self.step}: {name}", flush=True)
		else:
			print(f"FAIL {self.step}: {name}: {why}", flush=True)
			self.failed.append(name)
		return ok

	def done(self) -> None:
		frappe.db.commit()
		if self.failed:
			raise SystemExit(f"{self.step}: {len(self.failed)} check(s) failed: {', '.join(self.failed)}")


def step(function):
	"""A step: a crash is printed with its traceback and fails the step."""
	import functools
	import traceback

	@functools.wraps(function)
	def run(*args, **kwargs):
		try:
			return function(*args, **kwargs)
		except Exception:  # noqa: BLE001 - every crash is a failure with its traceback
			traceback.print_exc()
			print(f"FAIL {function.__name__}: crashed (traceback above)", flush=True)
			raise SystemExit(1) from None

	return run


def _state() -> dict:
	path = frappe.get_site_path(STATE)
	return json.load(open(path)) if os.path.exists(path) else {}


def _save(label: str, values: dict) -> None:
	state = _state()
	state[label] = values
	with open(frappe.get_site_path(STATE), "w") as handle:
		json.dump(state, handle, indent=1)


def _custom_permissions() -> list[tuple]:
	"""The site's Custom DocPerm rows as (DocType, role, level): uninstall must leave no other."""
	return sorted({(r.parent, r.role, r.permlevel) for r in frappe.get_all(
		"Custom DocPerm", fields=["parent", "role", "permlevel"])})


def _installed() -> bool:
	return "persona_threading" in frappe.get_installed_apps()


def inbox():
	"""The helpdesk's IMAP inbox appending to Issue, with stock's auto-reply on."""
	from .helpers import ensure_default_outgoing

	ensure_default_outgoing()
	if not frappe.db.exists("Email Account", INBOX):
		frappe.get_doc({
			"doctype": "Email Account", "email_account_name": INBOX, "email_id": ADDRESS, "password": "password",
			"enable_incoming": 1, "enable_outgoing": 1, "use_imap": 1, "email_server": "imap.pt-adopt.example",
			"smtp_server": "smtp.pt-adopt.example", "append_to": "Issue",
			"imap_folder": [{"folder_name": "INBOX", "append_to": "Issue"}],
		}).insert(ignore_permissions=True)
	frappe.db.set_value("Email Account", INBOX, {"enable_auto_reply": 1, "auto_reply_message": TEMPLATE})
	if not frappe.db.exists("User", AGENT):
		frappe.get_doc({"doctype": "User", "email": AGENT, "first_name": "Agent", "send_welcome_email": 0,
						"roles": [{"role": "Support Team"}]}).insert(ignore_permissions=True)
	frappe.db.commit()
	return frappe.get_doc("Email Account", INBOX)


def deliver(raw: bytes) -> str | None:
	"""Receive one mail through the real EmailAccount.receive(); the Issue it landed on."""
	from persona_threading.engine.message import parse_message

	from .helpers import receive

	receive(raw, account=inbox())
	frappe.db.commit()
	return frappe.db.get_value("Communication", {"message_id": parse_message(raw).message_id}, "reference_name")


def mails_to(address: str) -> list[str]:
	"""The raw mails queued to ``address``, oldest first."""
	queued = frappe.get_all("Email Queue Recipient", filters={"recipient": address}, pluck="parent")
	return frappe.get_all("Email Queue", filters={"name": ["in", queued or [""]]}, pluck="message",
						  order_by="creation asc")


def _body(raw: str) -> str:
	from persona_threading.engine.message import parse_message

	message = parse_message(raw.encode("utf-8", "surrogateescape"))
	return message.html_body or message.text_body


@step
def stock_history(label: str) -> None:
	"""A customer's request with a CC, stock's auto-reply, an agent's answer from the Issue;
	routed by stock (the app not installed, or installed and switched off)."""
	from frappe.core.doctype.communication.email import make

	from persona_threading.demo.client import new_mail
	from persona_threading.engine.message import parse_message

	checks = Checks(f"stock history ({HISTORY[label]})")
	if label == "install":
		checks.check("the app is not installed", not _installed())
		_save("permissions", {"before_install": _custom_permissions()})  # what uninstall must leave
	else:
		checks.check("the app is switched off", _installed() and not frappe.db.get_single_value("PT Settings", "enabled"))
	tag = uuid.uuid4().hex[:8]
	customer, cc = f"maria-{tag}@acme.pt-adopt.example", f"tom-{tag}@acme.pt-adopt.example"
	subject = f"Invoice {tag} is wrong"
	request = new_mail(customer, ADDRESS, subject, "The total is off by 10 EUR.", Cc=cc)
	issue = deliver(request)
	checks.check("stock opened an Issue", bool(issue))
	auto_replies = mails_to(customer)
	checks.check("stock's auto-reply rendered the template", len(auto_replies) == 1
				 and f"Reference: Issue {issue}" in _body(auto_replies[0]) and f"About: {subject}" in _body(auto_replies[0]),
				 auto_replies[-1][-800:] if auto_replies else "no auto-reply")
	stock_reply_id = parse_message(auto_replies[0].encode()).message_id if auto_replies else None
	frappe.set_user(AGENT)
	try:
		answer = make(doctype="Issue", name=issue, subject=f"Re: {subject}", content="<p>Corrected invoice attached.</p>",
					  recipients=customer, cc=cc, sender=ADDRESS, send_email=True)["name"]
	finally:
		frappe.set_user("Administrator")
	agent_message_id = frappe.db.get_value("Communication", answer, "message_id")
	checks.check("the agent's answer is stored with its Message-ID", bool(agent_message_id))
	_save(label, {"customer": customer, "cc": cc, "subject": subject, "issue": issue, "tag": tag,
				  "request": parse_message(request).message_id, "answer": agent_message_id,
				  "stock_auto_reply": stock_reply_id})
	checks.done()


@step
def set_enabled(on: int) -> None:
	frappe.db.set_single_value("PT Settings", "enabled", int(on))
	frappe.db.commit()
	print(f"PT Settings enabled = {int(on)}")


@step
def replies(label: str) -> None:
	"""After install (or switching on): replies to the history thread as stock threaded them."""
	from persona_threading.demo.client import new_mail
	from persona_threading.frappe_adapter import followers, participants, store
	from persona_threading.engine.message import parse_message

	checks = Checks(AFTER[label])
	checks.check("the app is installed and on", _installed() and frappe.db.get_single_value("PT Settings", "enabled"))
	past = _state()[label]
	customer, cc, issue, subject = past["customer"], past["cc"], past["issue"], past["subject"]
	issues_before = frappe.db.count("Issue")

	# the customer answers with Reply All (a plain Reply would drop the CC, as it does live)
	by_in_reply_to = new_mail(customer, ADDRESS, f"Re: {subject}", "Thanks, but the VAT is missing.", Cc=cc,
							  In_Reply_To=f"<{past['answer']}>")
	checks.check("the customer's In-Reply-To reply lands on the existing Issue", deliver(by_in_reply_to) == issue)
	references_only = new_mail(customer, ADDRESS, f"One more question {past['tag']}", "And the delivery date?", Cc=cc,
							   References=f"<{past['request']}> <{past['answer']}>")
	checks.check("a References-only reply with a new subject lands on the existing Issue",
				 deliver(references_only) == issue)
	by_cc = new_mail(cc, ADDRESS, f"Re: {subject}", "I second that.", Cc=customer,
					 In_Reply_To=f"<{past['request']}>", References=f"<{past['request']}>")
	checks.check("the CC's reply lands on the existing Issue", deliver(by_cc) == issue)
	if past.get("stock_auto_reply"):
		to_auto_reply = new_mail(customer, ADDRESS, f"Re: {subject}", "Got your automatic reply.", Cc=cc,
								 In_Reply_To=f"<{past['stock_auto_reply']}>")
		checks.check("a reply to stock's auto-reply lands on the existing Issue", deliver(to_auto_reply) == issue)
	checks.check("no new Issue was opened", frappe.db.count("Issue") == issues_before,
				 f"{frappe.db.count('Issue') - issues_before} new")

	conversation = store.conversation_of("Issue", issue)
	people = {row.email: row for row in frappe.get_all(
		followers.FOLLOWER, filters={"conversation": conversation}, fields=["email", "role", "active"])}
	checks.check("the requester is the Issue's raised_by", people.get(customer, {}).get("role") == "Requester",
				 str(people))
	checks.check("the CC is an active CC", (people.get(cc, {}).get("role"), people.get(cc, {}).get("active")) == ("CC", 1),
				 str(people))
	checks.check("the agent who answered is an Agent", people.get(AGENT, {}).get("role") == "Agent", str(people))
	cc_reply = frappe.db.get_value(store.MESSAGE, {"message_id": parse_message(by_cc).message_id},
								   ["visibility", "warning"], as_dict=True) or {}
	checks.check("the CC's reply is public, without a third-party warning",
				 cc_reply.get("visibility") == "Public" and not cc_reply.get("warning"), str(cc_reply))
	composer = participants.recipients_of_a_public_reply("Issue", issue)
	checks.check("the composer's public reply goes to the requester with the CC in Cc",
				 composer["to"] == [customer] and cc in composer["cc"], str(composer))

	newcomer = f"new-{past['tag']}@pt-adopt-new.example"
	new_subject = f"Printer {past['tag']} jams"
	new_issue = deliver(new_mail(newcomer, ADDRESS, new_subject, "Paper jam on floor 2."))
	checks.check("a new request opens a new Issue", bool(new_issue) and new_issue != issue)
	answers = mails_to(newcomer)
	body = _body(answers[-1]) if answers else ""
	checks.check("its automatic reply reads 'Reference: Issue ISS-…' with the Jinja block evaluated",
				 len(answers) == 1 and f"Reference: Issue {new_issue}" in body and f"About: {new_subject}" in body
				 and "{%" not in body and "{{" not in body and "No subject" not in body, body[-600:])
	checks.done()


@step
def stock_again() -> None:
	"""After uninstall-app: stock receives, the forms load and save."""
	from frappe.desk.form.load import getdoc
	from frappe.email.doctype.email_account.email_account import EmailAccount

	from persona_threading.demo.client import new_mail

	checks = Checks("after uninstall")
	checks.check("the app is not installed", not _installed())
	account = inbox()
	checks.check("the Email Account is stock's again", type(account) is EmailAccount, type(account).__module__)
	from persona_threading.frappe_adapter.install import CUSTOM_FIELDS

	for doctype in sorted({*CUSTOM_FIELDS, "Issue"}):  # Notification's recipients field too
		left = [f.fieldname for f in frappe.get_meta(doctype).fields if f.fieldname.startswith("pt_")]
		checks.check(f"{doctype} has no fields of the app", not left, str(left))
	left = frappe.get_all("Custom Field", filters={"fieldname": ["like", "pt\\_%"]}, pluck="name")
	checks.check("no custom field of the app on any DocType", not left, str(left))
	before = {tuple(row) for row in _state().get("permissions", {}).get("before_install", [])}
	added = sorted(set(_custom_permissions()) - before)
	checks.check("no permission row the app added (its roles, its DocTypes, Issue's copied rows)", not added,
				 str(added))
	description = frappe.get_meta("Email Account").get_field("auto_reply_message").description or ""
	checks.check("the auto-reply field's description is stock's", "issue." not in description, description)
	checks.check("no scheduled job of the app", not frappe.db.exists("Scheduled Job Type",
																	 {"method": ["like", "persona_threading.%"]}))
	tag = uuid.uuid4().hex[:8]
	customer, subject = f"after-{tag}@pt-adopt-new.example", f"Monitor {tag} flickers"
	issue = deliver(new_mail(customer, ADDRESS, subject, "Since this morning."))
	checks.check("a new mail opens an Issue through stock code", bool(issue)
				 and frappe.db.get_value("Issue", issue, "raised_by") == customer)
	answers = mails_to(customer)
	checks.check("stock's auto-reply renders the template", len(answers) == 1
				 and f"Reference: Issue {issue}" in _body(answers[0]), answers[-1][-600:] if answers else "none")
	try:
		getdoc("Issue", issue)
		account.reload()
		account.save(ignore_permissions=True)
		checks.check("the Issue form loads and the Email Account saves", True)
	except Exception as error:  # noqa: BLE001 - reported as the failure
		checks.check("the Issue form loads and the Email Account saves", False, repr(error))
	checks.done()


STEPS = {"stock_history": stock_history, "set_enabled": set_enabled, "replies": replies, "stock_again": stock_again}


def main(argv: list[str], steps: dict | None = None) -> None:
	"""SITE STEP [ARG]: run one step (of ``steps``, default this driver's) on SITE (the current
	folder is the bench's sites folder)."""
	site, name, *args = argv
	frappe.init(site=site, sites_path=os.getcwd())
	frappe.connect()
	frappe.flags.in_test = True  # as the test runner: no real IMAP/SMTP servers are asked
	try:
		(steps or STEPS)[name](*args)
		frappe.db.commit()
	finally:
		frappe.destroy()


if __name__ == "__main__":
	import sys

	main(sys.argv[1:])
