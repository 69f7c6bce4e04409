"""The conversation on the document's timeline: one routing line per mail, in words.

A mail's routing decision is not a Comment: the line is built at render time from its PT
Conversation Message (``routing_lines``, Frappe's ``additional_timeline_content`` hook), in
the reader's language, with what processing that mail did (participants, status, automatic
reply) folded under it. Events that belong to no mail (an agent's action in the panel, a
reviewer's) stay one Info comment each (``add_audit_row``). Tokens, rule ids and Message-IDs
live only in "Why here?".
"""

from __future__ import annotations

import html
import json

import frappe
from frappe import _

from ..engine.explanations import badges, sentence

MESSAGE = "PT Conversation Message"


def begin_mail(reference: tuple[str | None, str | None], message_row: str) -> None:
	"""What is audited on ``reference`` from now until end_mail() belongs to this mail: it is
	kept on its message row and shown under its routing line, not as a Comment of its own."""
	frappe.local.flags.pt_current_mail = (tuple(reference), message_row) if all(reference) else None


def end_mail() -> None:
	frappe.local.flags.pt_current_mail = None


def escape(text: str) -> str:
	return html.escape(text)


def add_audit_row(doctype: str, name: str, html_text: str) -> None:
	"""One audit note on the document: under the routing line of the mail being processed,
	else one Info comment on the timeline."""
	current = frappe.local.flags.get("pt_current_mail")
	if current and current[0] == (doctype, name):
		notes = json.loads(frappe.db.get_value(MESSAGE, current[1], "notes") or "[]")
		notes.append(html_text)
		frappe.db.set_value(MESSAGE, current[1], "notes", json.dumps(notes), update_modified=False)
		return
	frappe.get_doc(
		{
			"doctype": "Comment",
			"comment_type": "Info",
			"reference_doctype": doctype,
			"reference_name": name,
			"content": html_text,
		}
	).insert(ignore_permissions=True)


def _messages(doctype: str, name: str) -> list[dict]:
	from .store import conversation_of

	conversation = conversation_of(doctype, name)
	if not conversation:
		return []
	Message = frappe.qb.DocType(MESSAGE)
	return (
		frappe.qb.from_(Message)
		.select(Message.name, Message.creation, Message.direction, Message.decision, Message.notes,
				Message.communication, Message.sender)
		.where(Message.conversation == conversation)
		.orderby(Message.creation)
		.run(as_dict=True)
	)


def _words(template: str, params: dict) -> str:
	return _(template).format(**{k: _(v) if k == "doctype" else v for k, v in params.items()})


def line_of(row: dict, doctype: str) -> tuple[str, list[str], list[str]] | None:
	"""(headline, badges, notes) of one stored mail; None for what needs no line (our own
	sent mail and history from before the app: the message itself is on the timeline)."""
	decision = json.loads(row.get("decision") or "{}")
	if row.get("direction") == "Outbound" or decision.get("rule") in ("backfill", "outbound"):
		return None
	headline = _words(*sentence(decision, doctype))
	marks = [_words(*badge) for badge in badges(decision)]
	return headline, marks, json.loads(row.get("notes") or "[]")


def routing_lines(doctype: str, docname: str) -> list[dict]:
	"""Frappe's additional_timeline_content hook: one collapsible line per received mail."""
	items = []
	for row in _messages(doctype, docname):
		line = line_of(row, doctype)
		if line is None:
			continue
		headline, marks, notes = line
		pills = "".join(f' <span class="indicator-pill gray pt-badge">{html.escape(m)}</span>' for m in marks)
		summary = f'<span class="pt-routing-headline">{html.escape(headline)}</span>{pills}'
		if notes:
			body = "".join(f"<li>{note}</li>" for note in notes)  # stored escaped by add_audit_row's callers
			content = (f'<details class="pt-routing-line" data-message="{html.escape(row["name"])}">'
					   f"<summary>{summary}</summary><ul class=\"pt-routing-notes\">{body}</ul></details>")
		else:
			content = f'<div class="pt-routing-line" data-message="{html.escape(row["name"])}">{summary}</div>'
		items.append({"icon": "mail", "creation": row["creation"], "content": content})
	return items


def texts(doctype: str, name: str) -> list[str]:
	"""Everything the timeline says about routing, as text: each mail's line (headline,
	badges, notes) and the Info comments, oldest first."""
	entries = []
	for row in _messages(doctype, name):
		line = line_of(row, doctype)
		if line:
			headline, marks, notes = line
			entries.append((row["creation"], " ".join([headline, *marks])))
			entries += [(row["creation"], note) for note in notes]
	entries += [(c.creation, c.content) for c in frappe.get_all(
		"Comment", filters={"reference_doctype": doctype, "reference_name": name, "comment_type": "Info"},
		fields=["creation", "content"], order_by="creation asc")]
	return [text for _, text in sorted(entries, key=lambda e: e[0])]
