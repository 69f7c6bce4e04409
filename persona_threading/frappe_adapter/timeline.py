"""The conversation on the document's timeline: one routing line per mail, in words.

A mail's routing decision is not a Comment: the line is built at render time from its PT
Conversation Message (``routing_lines``, Frappe's ``additional_timeline_content`` hook), in
the reader's language, with what processing that mail did (participants, status, automatic
reply) folded under it. Events that belong to no mail (an agent's action in the panel, a
reviewer's) are one Info comment each (``add_audit_row``), shown here too. Both are stored as
phrases (template and parameters) and said in the reader's language (frappe_adapter.phrases);
rows from before, stored as English HTML, are shown as they are. Tokens, rule ids and
Message-IDs live only in "Why here?".
"""

from __future__ import annotations

import html
import json

import frappe
from frappe import _
from frappe.utils import get_fullname

from ..engine.explanations import BADGE_TEXTS, badges, sentence
from ..engine.lifecycle import NEW_LINKED_NOTE
from ..engine.phrases import Phrase
from . import phrases

MESSAGE = "PT Conversation Message"
CONVERSATION = "PT Conversation"


class _Mail:
	"""The mail being processed: its document, its message row (once inserted) and its notes,
	held here so they are written with the row, or in one UPDATE each, never read back."""

	__slots__ = ("reference", "row", "notes")

	def __init__(self, reference: tuple[str, str]):
		self.reference, self.row, self.notes = reference, None, []


def begin_mail(reference: tuple[str | None, str | None]) -> None:
	"""What is audited on ``reference`` from now until end_mail() belongs to this mail: it is
	kept on its message row and shown under its routing line, not as a Comment of its own.
	Notes made before the row exists are inserted with it (``mail_notes``); begun again on
	the same document (the one it opened), it keeps them."""
	reference = _named(*reference)
	current = frappe.local.flags.get("pt_current_mail")
	if current is None or current.reference != reference:
		frappe.local.flags.pt_current_mail = _Mail(reference) if all(reference) else None


def _named(doctype: str | None, name) -> tuple[str | None, str | None]:
	"""(doctype, name) with the name as text: an HD Ticket's is a number when it is made and
	text when read back."""
	return doctype, None if name is None else str(name)


def mail_notes() -> str | None:
	"""The JSON of the current mail's notes so far, for its message row's insert."""
	current = frappe.local.flags.get("pt_current_mail")
	return json.dumps(current.notes) if current and current.notes else None


def after_earlier_notes(earlier: str | None) -> str | None:
	"""The current mail's row is one stored before (the mail fetched again): its notes, now
	and later, follow that row's notes; returns the JSON of them all."""
	current = frappe.local.flags.get("pt_current_mail")
	if current is None:
		return earlier
	current.notes[:0] = json.loads(earlier or "[]")
	return json.dumps(current.notes) if current.notes else None


def mail_stored(message_row: str) -> None:
	"""The current mail's message row exists now: later notes are written to it."""
	current = frappe.local.flags.get("pt_current_mail")
	if current:
		current.row = message_row


def end_mail() -> None:
	frappe.local.flags.pt_current_mail = None


def escape(text: str) -> str:
	return html.escape(text)


def add_audit_row(doctype: str, name: str, note: Phrase | str) -> None:
	"""One audit note on the document: under the routing line of the mail being processed,
	else one Info comment on the timeline. ``note``: a Phrase (said in the reader's language
	when shown), or HTML that is shown as it is."""
	current = frappe.local.flags.get("pt_current_mail")
	if current and current.reference == _named(doctype, name):
		current.notes.append(note.as_data() if isinstance(note, Phrase) else note)
		if current.row:
			frappe.db.set_value(MESSAGE, current.row, "notes", json.dumps(current.notes), update_modified=False)
		return
	frappe.get_doc(
		{
			"doctype": "Comment",
			"comment_type": "Info",
			"reference_doctype": doctype,
			"reference_name": name,
			"content": phrases.stored(note),
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
	return headline, marks, [phrases.shown_html(note) for note in json.loads(row.get("notes") or "[]")]


def message_badges(decision: str | None) -> list[str]:
	"""The badges a stored mail (its decision's JSON) carries on its own card of the timeline,
	in the reader's language. "Internal" is not among them: the desk marks private messages
	from their visibility, which an agent can change after the decision."""
	marks = badges(json.loads(decision or "{}"))
	return [_words(*badge) for badge in marks if badge[0] != BADGE_TEXTS["private"]]


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
			body = "".join(f"<li>{note}</li>" for note in notes)  # HTML: escaped by line_of
			content = (f'<details class="pt-routing-line" data-message="{html.escape(row["name"])}">'
					   f"<summary>{summary}</summary><ul class=\"pt-routing-notes\">{body}</ul></details>")
		else:
			content = f'<div class="pt-routing-line" data-message="{html.escape(row["name"])}">{summary}</div>'
		items.append({"icon": "mail", "creation": row["creation"], "content": content})
	for creation, text in _followed_by(doctype, docname):
		items.append({"icon": "link-url", "creation": creation, "content": f'<span class="pt-audit-event">{text}</span>'})
	for event in _events(doctype, docname, phrased=True):
		user = frappe.utils.get_link_to_form("User", event.owner, f"<b>{html.escape(get_fullname(event.owner))}</b>")
		items.append({"creation": event.creation,  # as stock shows an Info comment, in the reader's language
					  "content": f'<span class="pt-audit-event">{user} {phrases.shown_html(event.content)}</span>'})
	return items


def _events(doctype: str, name: str, phrased: bool = False) -> list[dict]:
	"""The document's audit Info comments, oldest first; ``phrased``: only those stored as a
	phrase (stock's timeline shows the others, the desk script leaves these to us)."""
	filters = {"reference_doctype": doctype, "reference_name": name, "comment_type": "Info"}
	if phrased:
		filters["content"] = ["like", f"{phrases.MARK}%"]
	return frappe.get_all("Comment", filters=filters, fields=["creation", "content", "owner"],
						  order_by="creation asc")


def _followed_by(doctype: str, name: str) -> list[tuple]:
	"""(when, HTML) for each document a reply to this closed one opened (its conversation
	``follows`` this one), in the reader's language."""
	Conversation = frappe.qb.DocType(CONVERSATION)
	rows = (frappe.qb.from_(Conversation)
			.select(Conversation.creation, Conversation.reference_doctype, Conversation.reference_name)
			.where((Conversation.follows_name == name) & (Conversation.follows_doctype == doctype))
			.orderby(Conversation.creation).run())
	return [(creation, phrases.shown_html(Phrase("{note}: {doctype} {name}", note=NEW_LINKED_NOTE,
												 doctype=Phrase(other_doctype), name=other).as_data()))
			for creation, other_doctype, other in rows if other]


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
	entries += [(c.creation, phrases.shown_html(c.content)) for c in _events(doctype, name)]
	entries += _followed_by(doctype, name)
	return [text for _, text in sorted(entries, key=lambda e: e[0])]
