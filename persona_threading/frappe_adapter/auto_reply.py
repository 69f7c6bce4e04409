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
from ..engine.merge_codes import EMPTY, DocRef, render
from . import settings, store, timeline
from .lookup import FrappeLookup
from .merge_codes import FrappeResolver

AUTOMATED = "Automated Message"
DEFAULT_TEMPLATE = ("<p>Thank you for your mail. We have opened ticket {{ issue.name }} and will get back "
					"to you as soon as we can.</p><p>Please keep the ticket number in the subject when you write again.</p>")
#: The headers every automatic mail carries (RFC 3834, and what Exchange honours).
LOOP_HEADERS = {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All", "Precedence": "auto_reply"}


def site_now():
	"""Now, as an aware datetime in the site's time zone (what the engine's limits compare)."""
	return now_datetime().replace(tzinfo=ZoneInfo(get_system_timezone()))


def answer(account, mail, communication) -> None:
	"""Send the inbox's automatic reply to a received mail when the engine's limits allow it."""
	decision = mail.decision
	reference = (communication.reference_doctype, communication.reference_name)
	now = site_now()
	verdict = should_auto_reply(mail.parsed, decision, FrappeLookup(), now, settings.auto_reply_policy(account),
								settings.flood_guard(), fetched_at=now)
	if not verdict.send:
		if decision.action in ("new", "queued"):  # someone might have expected one: say why not
			_record(decision.conversation, mail.parsed.from_addr, account, None, False, verdict.reason)
			if all(reference):
				timeline.add_audit_row(*reference, timeline.escape(f"No automatic reply: {verdict.reason}"))
		return
	rendered = render(account.auto_reply_message or DEFAULT_TEMPLATE,
					  {"issue": DocRef(*reference), "conversation": DocRef(store.CONVERSATION, decision.conversation)},
					  FrappeResolver(), unknown=EMPTY, as_html=True)
	subject = frappe.db.get_value(*reference, "subject") if frappe.get_meta(reference[0]).has_field("subject") else None
	sent = make(doctype=reference[0], name=reference[1], subject=f"Re: {subject or communication.subject}",
				content=rendered.text, recipients=mail.parsed.from_addr, sender=account.email_id,
				send_email=True, communication_type=AUTOMATED)
	note = verdict.reason
	if rendered.unknown or rendered.empty:
		note += "; rendered empty: " + ", ".join(f"{{{{ {code} }}}}" for code in rendered.unknown + rendered.empty)
	_record(decision.conversation, mail.parsed.from_addr, account, sent["name"], True, note)
	timeline.add_audit_row(*reference, timeline.escape(f"Automatic reply sent to {mail.parsed.from_addr}: {note}"))


def _record(conversation, recipient, account, communication, sent: bool, reason: str) -> None:
	frappe.get_doc({
		"doctype": "PT Automatic Mail", "conversation": conversation, "recipient": (recipient or "").lower() or None,
		"email_account": account.name, "communication": communication, "sent": int(sent), "reason": reason[:1000],
	}).insert(ignore_permissions=True)


def is_automatic(communication: str | None) -> bool:
	return bool(communication) and frappe.db.get_value("Communication", communication, "communication_type") == AUTOMATED
