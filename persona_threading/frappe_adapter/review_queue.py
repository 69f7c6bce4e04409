"""The manual review queue's rows: a mail that opens nothing and attaches nowhere waits here
(never dropped, never invisible) until a reviewer attaches it, opens a ticket or dismisses it;
machine mail waits Suspended until a daily job clears it. Persists beside store.py."""

from __future__ import annotations

import html

import frappe
from frappe.utils import cstr

from ..engine import decision as act
from ..engine.decision import Decision
from ..engine.message import InboundMessage
from ..engine.phrases import Phrase
from . import phrases, timeline
from .rows import fitted
from .followers import add_follower
from .store import MESSAGE, apply_forward_attribution, conversation_of, create_conversation

QUEUE = "PT Inbound Queue"
SUSPENDED = "Suspended"


def queue_mail(message: InboundMessage, decision: Decision, communication: str, email_account: str | None,
			   message_row: str) -> str:
	"""A mail that opens nothing and attaches nowhere waits in the queue, never invisible:
	``Open`` for a reviewer, ``Suspended`` for machine mail (an out-of-office, a bounce of
	unknown mail) that a daily job clears after PT Settings' days. The raw mail is attached."""
	queued = frappe.get_doc(
		fitted(QUEUE, {
			"doctype": QUEUE,
			"status": SUSPENDED if decision.action == act.IGNORED else "Open",
			"reason": queue_reason(decision),
			"subject": cstr(message.subject)[:140],
			"sender": message.from_addr,
			"email_account": email_account,
			"communication": communication,
			"conversation_message": message_row,
			"evidence": phrases.stored(decision.evidence),  # said in the reviewer's language
			"submitted_by": decision.submitted_by if decision.attribution else None,
			"assigned_to": decision.assigned_to if decision.attribution else None,
		})
	).insert(ignore_permissions=True)
	frappe.get_doc(
		{
			"doctype": "File",
			"file_name": f"{queued.name}.eml",
			"attached_to_doctype": QUEUE,
			"attached_to_name": queued.name,
			"is_private": 1,
			"content": message.raw,
		}
	).insert(ignore_permissions=True)
	return queued.name


#: Why a mail waits in the queue, by the rule that put it there (the list's Reason column).
QUEUE_REASONS = {"manual_queue": "No route", "flood_guard": "Flood guard", "bulk_mail": "Bulk mail",
				 "auto_reply": "Auto-reply", "bounce": "Bounce", "processing_failed": "Processing failed"}


def store_unprocessed(fields: dict, message: InboundMessage, email_account: str, why: str):
	"""A mail that could not be processed, stored as it is: its text as the Communication's
	content (escaped, nothing rendered), linked to nothing, and an Open queue row saying what
	failed. ``fields``: stock's Communication fields of the mail (InboundMail.as_dict).
	Returns (the Communication, the queue row)."""
	text = fields.get("text_content") or message.text or ""
	values = {key: fields.get(key) for key in ("subject", "sender", "sender_full_name", "recipients", "cc",
											   "email_account", "uid", "message_id", "communication_date", "pt_headers")}
	communication = frappe.get_doc(fitted("Communication", {
		**values,
		"doctype": "Communication",
		"communication_medium": "Email",
		"sent_or_received": "Received",
		"content": "<pre>" + html.escape(text[:MAX_PLAIN_CONTENT]) + "</pre>",
		"text_content": text[:MAX_PLAIN_CONTENT],
	}))
	communication.flags.in_receive = True
	communication.insert(ignore_permissions=True)
	decision = Decision(message.message_id, act.QUEUED, "processing_failed",
						Phrase("stored as it arrived, for a reviewer: {why}", why=why), defects=list(message.defects))
	return communication, queue_mail(message, decision, communication.name, email_account, None)


#: At most this many characters of an unprocessed mail's text are stored (the .eml has all).
MAX_PLAIN_CONTENT = 200_000


def queue_reason(decision: Decision) -> str:
	return QUEUE_REASONS.get(decision.rule, "No route")


def clear_suspended(days: int) -> int:
	"""Remove Suspended queue rows (and their attached .eml) older than ``days``; the
	Communication stays. Returns how many. The daily job (hooks.scheduler_events)."""
	if days <= 0:
		return 0
	Queue = frappe.qb.DocType(QUEUE)
	names = (frappe.qb.from_(Queue).select(Queue.name)
			 .where((Queue.status == SUSPENDED) & (Queue.creation < frappe.utils.add_days(frappe.utils.now_datetime(), -days)))
			 .run(pluck=True))
	for name in names:
		for file in frappe.get_all("File", {"attached_to_doctype": QUEUE, "attached_to_name": name}, pluck="name"):
			frappe.delete_doc("File", file, ignore_permissions=True, force=True)
		frappe.delete_doc(QUEUE, name, ignore_permissions=True, force=True)
	return len(names)


def resolve_queue(queue: str, status: str, user: str, note: str,
				  reference: tuple[str, str] | None = None) -> None:
	frappe.db.set_value(QUEUE, queue, {
		"status": status,
		"resolved_by": user,
		"resolution_note": note,
		"resolved_reference_doctype": reference[0] if reference else None,
		"resolved_reference_name": reference[1] if reference else None,
	})


def place_queued(queue, doctype: str, name: str, rule: str, why: Phrase, opened: bool) -> str:
	"""Move a queued mail onto a document: its Communication, conversation, message row and,
	for an agent's forward, the attribution it was queued with (``opened``: a new document)."""
	if queue.communication:
		frappe.db.set_value("Communication", queue.communication,
							{"reference_doctype": doctype, "reference_name": name})
	conversation = conversation_of(doctype, name) or create_conversation(
		queue.subject, doctype, name, email_account=queue.email_account)
	if queue.conversation_message:
		frappe.db.set_value(MESSAGE, queue.conversation_message,
							{"conversation": conversation, "rule": rule, "evidence": str(why)})
	add_follower(conversation, queue.get("submitted_by") or queue.sender)
	timeline.add_audit_row(doctype, name, why)
	apply_forward_attribution(doctype, name, queue.get("submitted_by"), queue.get("assigned_to"), set_requester=opened)
	return conversation
