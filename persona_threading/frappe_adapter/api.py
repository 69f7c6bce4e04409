"""Whitelisted reads for the desk: "Why here?" on a conversation's document."""

from __future__ import annotations

import json
import re

import frappe
from frappe import _

from ..engine import lifecycle
from ..engine.decision import Decision
from . import participants, settings, store
from .lookup import days_in_status


_MESSAGE_ID_IN_EVIDENCE = re.compile(r"<([^<>\s]{1,250})>")


def decisions_for(doctype: str, name: str) -> list[dict]:
	"""Every message of the document's conversation with the decision that put it there.

	Each item is the CLI's ``route --json`` object (message_id, action, conversation, rule,
	evidence, project, attempts, defects, submitted_by, assigned_to) plus where and when the
	mail came from (direction, sender, received_at, communication) and ``links``: for every
	Message-ID the evidence names, the Communication it is stored as.
	"""
	conversation = store.conversation_of(doctype, name)
	if not conversation:
		return []
	Message = frappe.qb.DocType(store.MESSAGE)
	rows = (
		frappe.qb.from_(Message)
		.select(Message.communication, Message.message_id, Message.direction, Message.sender,
				Message.action, Message.rule, Message.evidence, Message.decision, Message.creation)
		.where(Message.conversation == conversation)
		.orderby(Message.creation)
		.run(as_dict=True)
	)
	items = []
	for row in rows:
		decision = json.loads(row.decision or "{}") or {
			"message_id": row.message_id, "action": row.action, "rule": row.rule, "evidence": row.evidence}
		decision.setdefault("attempts", [])
		items.append({**decision, "direction": row.direction, "sender": row.sender, "received_at": row.creation,
					  "communication": row.communication, "explanation": explain_stored(decision)})
	named = {mid for item in items for text in _evidence_texts(item) for mid in _MESSAGE_ID_IN_EVIDENCE.findall(text)}
	stored = dict(
		frappe.qb.from_(Message).select(Message.message_id, Message.communication)
		.where(Message.message_id.isin(list(named)) & Message.communication.isnotnull()).run()
	) if named else {}
	for item in items:
		item["links"] = {mid: stored[mid] for text in _evidence_texts(item)
						 for mid in _MESSAGE_ID_IN_EVIDENCE.findall(text) if mid in stored}
	return items


def _evidence_texts(item: dict) -> list[str]:
	return [item.get("evidence") or ""] + [a.get("evidence") or "" for a in item.get("attempts", [])]


def explain_stored(data: dict) -> str:
	"""The same text the CLI's explain prints, from a stored decision."""
	return Decision.from_dict(data).explain() if data else ""


@frappe.whitelist()
def why_here(doctype: str, name: str) -> list[dict]:
	"""Why each mail of this document landed here (read permission on the document required)."""
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
					   f"Attached from the manual queue ({queue}) by {user}", opened=False)
	store.resolve_queue(queue, "Attached", user, f"attached to {doctype} {reference_name}", (doctype, reference_name))
	participants.people_of_a_placed_mail(item, doctype, reference_name)
	if status_before is not None:
		text = frappe.db.get_value("Communication", item.communication, "text_content") or "" if item.communication else ""
		transition = lifecycle.on_inbound_reply(
			status_before, text, False, days_in_status(parent),
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
		values[meta.get("sender_field")] = item.submitted_by or item.sender
	if project and meta.has_field("project"):
		values["project"] = project
	document = frappe.get_doc(values).insert(ignore_permissions=True)
	user = frappe.session.user
	where = f" in project {project}" if project else ""
	store.place_queued(item, doctype, document.name, "queue_new",
					   f"New {doctype} from the manual queue ({queue}) by {user}{where}", opened=True)
	store.resolve_queue(queue, "New Issue", user, f"opened {doctype} {document.name}{where}",
						(doctype, document.name))
	participants.people_of_a_placed_mail(item, doctype, document.name)
	return document.name


@frappe.whitelist()
def queue_dismiss(queue: str, reason: str) -> None:
	"""Dismiss a queued mail: it stays stored, with who dismissed it and why."""
	_open_queue_item(queue)
	if not (reason or "").strip():
		frappe.throw(_("Say why the mail is dismissed"))
	store.resolve_queue(queue, "Dismissed", frappe.session.user, reason.strip())
