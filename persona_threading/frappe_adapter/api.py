"""Whitelisted reads for the desk: "Why here?" on a conversation's document."""

from __future__ import annotations

import json

import frappe

from ..engine.decision import Attempt, Decision
from . import store


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
