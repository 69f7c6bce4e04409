"""Audit rows on the parent document's timeline: one per routing decision."""

from __future__ import annotations

import html

import frappe

from ..engine import decision as act
from ..engine.decision import Decision

_VERBS = {
	act.THREADED: "Threaded by {rule}",
	act.NEW: "New {doctype} via {rule}",
	act.DUPLICATE: "Duplicate ignored",
	act.OUTBOUND: "Sent",
	act.IGNORED: "Stored without action ({rule})",
	act.QUEUED: "Queued: no route",
}


def headline(decision: Decision, doctype: str = "document") -> str:
	"""``Threaded by references``, ``New Issue via #ACME``, ``Queued: no route``..."""
	rule = decision.rule
	if decision.action == act.NEW and rule == "new":
		return f"New {doctype}"
	if decision.action == act.NEW and rule == "prefix" and decision.project:
		rule = f"#{decision.evidence.rsplit('#', 1)[-1]}"
	return _VERBS.get(decision.action, decision.action).format(rule=rule, doctype=doctype)


def log_decision(reference: tuple[str | None, str | None], decision: Decision, message_row: str) -> None:
	doctype, name = reference
	if not (doctype and name):
		return
	text = (
		f"<b>{html.escape(headline(decision, doctype))}</b>: {html.escape(decision.evidence)} "
		f'<span class="text-muted">(persona_threading, message {html.escape(message_row)})</span>'
	)
	add_audit_row(doctype, name, text)


def escape(text: str) -> str:
	return html.escape(text)


def add_audit_row(doctype: str, name: str, html_text: str) -> None:
	"""One Info comment on the document's timeline."""
	frappe.get_doc(
		{
			"doctype": "Comment",
			"comment_type": "Info",
			"reference_doctype": doctype,
			"reference_name": name,
			"content": html_text,
		}
	).insert(ignore_permissions=True)
