"""Whitelisted reads for the desk: "Why here?" on a conversation's document."""

from __future__ import annotations

import json

import frappe
from frappe import _
from frappe.utils import date_diff, now_datetime

from ..engine import lifecycle
from ..engine.decision import Attempt, Decision
from . import settings, store


def decisions_for(doctype: str, name: str) -> list[dict]:
	"""Every message of the document's conversation with the decision that put it there."""
	conversation = store.conversation_of(doctype, name)
	if not conversation:
		return []
	Message = frappe.qb.DocType(store.MESSAGE)
	rows = (
		frappe.qb.from_(Message)
		.select(Message.name, Message.communication, Message.message_id, Message.direction, Message.sender,
				Message.action, Message.rule, Message.evidence, Message.decision, Message.creation)
		.where(Message.conversation == conversation)
		.orderby(Message.creation)
		.run(as_dict=True)
	)
	for row in rows:
		row["decision"] = json.loads(row["decision"] or "{}")
		row["explanation"] = explain_stored(row["decision"])
	return rows


def explain_stored(data: dict) -> str:
	"""The same text the CLI's explain prints, from a stored decision."""
	if not data:
		return ""
	fields = {k: v for k, v in data.items() if k in Decision.__dataclass_fields__}
	fields["attempts"] = [Attempt(**a) for a in data.get("attempts", [])]
	return Decision(**fields).explain()


@frappe.whitelist()
def why_here(doctype: str, name: str) -> list[dict]:
	frappe.has_permission(doctype, "read", doc=name, throw=True)
	return decisions_for(doctype, name)


# -- the manual review queue ------------------------------------------------------------


def _open_queue_item(queue: str):
	frappe.has_permission("PT Inbound Queue", "write", doc=queue, throw=True)
	item = frappe.get_doc("PT Inbound Queue", queue)
	if item.status != "Open":
		frappe.throw(_("{0} was already resolved ({1})").format(queue, item.status))
	return item


@frappe.whitelist()
def queue_attach(queue: str, reference_name: str) -> str:
	"""Attach a queued mail to an existing document (an Issue by default)."""
	item = _open_queue_item(queue)
	doctype = settings.conversation_doctype()
	frappe.has_permission(doctype, "write", doc=reference_name, throw=True)
	parent = frappe.get_doc(doctype, reference_name)
	status_before = parent.get("status")
	user = frappe.session.user
	store.place_queued(item, doctype, reference_name, "queue_attach",
					   f"Attached from the manual queue ({queue}) by {user}")
	store.resolve_queue(queue, "Attached", user, f"attached to {doctype} {reference_name}", (doctype, reference_name))
	if status_before is not None:
		text = frappe.db.get_value("Communication", item.communication, "text_content") or "" if item.communication else ""
		transition = lifecycle.on_inbound_reply(
			status_before, text, False, date_diff(now_datetime(), parent.modified),
			settings.lifecycle_policy(parent.get("project")))
		if transition.action in ("resume", "reopen"):
			store.apply_transition(doctype, reference_name, status_before, transition)
	return reference_name


@frappe.whitelist()
def queue_create_issue(queue: str, project: str | None = None) -> str:
	"""Open a new document for a queued mail, in the chosen project."""
	item = _open_queue_item(queue)
	doctype = settings.conversation_doctype()
	frappe.has_permission(doctype, "create", throw=True)
	meta = frappe.get_meta(doctype)
	values = {"doctype": doctype}
	if meta.get("subject_field") or meta.has_field("subject"):
		values[meta.get("subject_field") or "subject"] = item.subject or _("(no subject)")
	if meta.get("sender_field"):
		values[meta.get("sender_field")] = item.sender
	if project and meta.has_field("project"):
		values["project"] = project
	document = frappe.get_doc(values).insert(ignore_permissions=True)
	user = frappe.session.user
	where = f" in project {project}" if project else ""
	store.place_queued(item, doctype, document.name, "queue_new",
					   f"New {doctype} from the manual queue ({queue}) by {user}{where}")
	store.resolve_queue(queue, "New Issue", user, f"opened {doctype} {document.name}{where}",
						(doctype, document.name))
	return document.name


@frappe.whitelist()
def queue_dismiss(queue: str, reason: str) -> None:
	"""Dismiss a queued mail: it stays stored, with who dismissed it and why."""
	_open_queue_item(queue)
	if not (reason or "").strip():
		frappe.throw(_("Say why the mail is dismissed"))
	store.resolve_queue(queue, "Dismissed", frappe.session.user, reason.strip())
