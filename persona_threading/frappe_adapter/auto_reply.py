"""An inbox's automatic reply on conversation inboxes: the engine decides, this sends and audits.

Replaces stock Frappe's auto-reply there (which answers every new inbound mail, an
out-of-office included, renders the template with its own context and fails on
``{{ issue… }}``). The reply is a Communication of type "Automated Message" on the Issue,
so it shows on the timeline, carries the conversation's carriers (a human answer to it
threads) and gets the loop headers in outbound.thread_email_queue.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import frappe
from frappe.core.doctype.communication.email import make
from frappe.utils import get_system_timezone, now_datetime

from ..engine.limits import should_auto_reply
from ..engine.merge_codes import DocRef
from ..engine.phrases import Phrase
from . import conversations, helpdesk, settings, store, timeline
from .lookup import FrappeLookup
from .merge_codes import SampleResolver, TemplateError, render_auto_reply

AUTOMATED = "Automated Message"
DEFAULT_TEMPLATE = ("<p>Thank you for your mail. We have opened ticket {{ issue.name }} and will get back "
					"to you as soon as we can.</p><p>To add anything, simply reply to this mail.</p>")
#: What the Email Account's auto-reply field says it takes (its description, install.py).
MERGE_CODES_HELP = (
	"Rendered like stock Frappe's: Jinja with the received mail's fields, e.g. <code>Reference: {{ reference_doctype }}"
	" {{ reference_name }}</code>, <code>{{ subject }}</code>, <code>{{ sender }}</code>, <code>{% if … %}…{% endif %}"
	"</code>. Merge codes follow Link fields: <code>{{ issue.name }}</code>, <code>{{ issue.subject }}</code>,"
	" <code>{{ issue.customer.customer_name }}</code>, <code>{{ conversation.subject }}</code>. A template that cannot"
	" be rendered is refused on save. Empty: a short default that names the ticket.")
#: The headers every automatic mail carries (RFC 3834, and what Exchange honours).
LOOP_HEADERS = {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All", "Precedence": "auto_reply"}


def site_now():
	"""Now, as an aware datetime in the site's time zone (what the engine's limits compare)."""
	return now_datetime().replace(tzinfo=ZoneInfo(get_system_timezone()))


def answer(account, mail, communication) -> None:
	"""Send the inbox's automatic reply to a received mail when the engine's limits allow it."""
	decision = mail.decision
	reference = (communication.reference_doctype, communication.reference_name)
	if helpdesk.acknowledgement_in_use(reference[0]):
		return  # one automatic reply: Helpdesk's acknowledgement is this inbox's (helpdesk.acknowledge)
	now = site_now()
	verdict = should_auto_reply(mail.parsed, decision, FrappeLookup(), now, settings.auto_reply_policy(account),
								settings.flood_guard(), fetched_at=now)
	if not verdict.send:
		if decision.action in ("new", "queued"):  # someone might have expected one: say why not
			_not_sent(decision.conversation, mail.parsed.from_addr, account, reference, verdict.reason)
		return
	try:
		rendered = render_auto_reply(account.auto_reply_message or DEFAULT_TEMPLATE, communication.as_dict(),
									 merge_roots(reference, decision.conversation))
	except TemplateError as error:  # never mailed half-rendered: the admin reads why on the ticket
		_not_sent(decision.conversation, mail.parsed.from_addr, account, reference, Phrase(
			"the template of {account} cannot be rendered: {error}", account=account.name, error=str(error)))
		return
	subject = frappe.db.get_value(*reference, "subject") if frappe.get_meta(reference[0]).has_field("subject") else None
	sent = make(doctype=reference[0], name=reference[1], subject=f"Re: {subject or communication.subject}",
				content=rendered.text, recipients=mail.parsed.from_addr, sender=account.email_id,
				send_email=True, communication_type=AUTOMATED)
	note = verdict.reason
	if rendered.unknown or rendered.empty:
		note = Phrase("{reason}; rendered empty: {codes}", reason=note,
					  codes=", ".join(f"{{{{ {code} }}}}" for code in rendered.unknown + rendered.empty))
	_record(decision.conversation, mail.parsed.from_addr, account, sent["name"], True, note)
	timeline.add_audit_row(*reference, Phrase("Automatic reply sent to {recipient}: {note}",
											  recipient=mail.parsed.from_addr, note=note))


def merge_roots(reference: tuple[str, str], conversation: str | None) -> dict[str, DocRef]:
	return {"issue": DocRef(*reference), "conversation": DocRef(store.CONVERSATION, conversation or "")}


def validate_template(doc, method=None):
	"""Email Account validate: an auto-reply template that cannot render is refused, with the
	error (tried on a sample received mail, merge codes read from the DocTypes' fields)."""
	template = doc.get("auto_reply_message")
	if not template or not template.strip():
		return
	try:
		rendered = render_sample(doc)
	except TemplateError as error:
		frappe.throw(str(error), TemplateError, title=frappe._("Automatic reply"))
	if rendered.unknown:
		frappe.msgprint(frappe._("The automatic reply names fields that do not exist; they render empty: {0}").format(
			", ".join(f"{{{{ {code} }}}}" for code in rendered.unknown)), alert=True)


def render_sample(account):
	"""The inbox's template rendered for a sample received mail; raises TemplateError."""
	doctype = conversations.account_doctype(account)  # Issue, or HD Ticket for a Helpdesk inbox
	sample = frappe.new_doc("Communication").as_dict() | {
		"subject": "Sample subject", "sender": "customer@example.com", "sender_full_name": "Customer",
		"recipients": account.email_id, "communication_medium": "Email", "sent_or_received": "Received",
		"reference_doctype": doctype, "reference_name": f"{doctype}-SAMPLE", "content": "<p>Sample</p>",
		"email_account": account.name}
	return render_auto_reply(account.auto_reply_message, sample, {
		"issue": DocRef(doctype, f"{doctype}-SAMPLE"), "conversation": DocRef(store.CONVERSATION, "SAMPLE")},
		SampleResolver())


def _not_sent(conversation, recipient, account, reference, reason: str) -> None:
	_record(conversation, recipient, account, None, False, reason)
	if all(reference):
		timeline.add_audit_row(*reference, Phrase("No automatic reply: {reason}", reason=reason))


def _record(conversation, recipient, account, communication, sent: bool, reason: str) -> None:
	frappe.get_doc({
		"doctype": "PT Automatic Mail", "conversation": conversation, "recipient": (recipient or "").lower() or None,
		"email_account": account.name, "communication": communication, "sent": int(sent), "reason": reason[:1000],
	}).insert(ignore_permissions=True)


def is_automatic(communication: str | None) -> bool:
	return bool(communication) and frappe.db.get_value("Communication", communication, "communication_type") == AUTOMATED
