"""Text snippets for the Issue's email composer: search, render, save (permissions first).

The composer (public/js/snippets.js) types ``!`` and calls these; so can integrations,
through persona_threading.api. Rendering uses the same merge-code renderer as automatic
replies, but leaves an unknown code visible for the agent instead of blanking it.
"""

from __future__ import annotations

from email.utils import parseaddr

import frappe
from frappe import _

from ..engine.merge_codes import AS_WRITTEN, DocRef, render
from ..engine.snippet_text import own_text
from . import privacy, store
from .merge_codes import FrappeResolver

SNIPPET = "PT Snippet"
MENU_SIZE = 20


def _readable_document(doctype: str, name: str):
	"""The document the snippet is for; 403 when the user may not read it."""
	if not frappe.has_permission(doctype, "read", doc=name):
		raise frappe.PermissionError(_("You may not read {0} {1}").format(doctype, name))
	return frappe.get_doc(doctype, name)


def scopes_of(doctype: str, name: str) -> tuple[str | None, str | None]:
	"""The project and the inbox a document's snippets are scoped by."""
	project = frappe.db.get_value(doctype, name, "project") if frappe.get_meta(doctype).has_field("project") else None
	conversation = store.conversation_of(doctype, name)
	inbox = frappe.db.get_value(store.CONVERSATION, conversation, "email_account") if conversation else None
	return project or None, inbox or None


def search(txt: str, doctype: str, name: str) -> list[dict]:
	"""Snippets for this document: pinned first, then by title; title or content match ``txt``.

	A snippet scoped to a project is offered only on that project's documents (not on those
	without one); one scoped to an inbox only where the conversation came through it.
	"""
	_readable_document(doctype, name)
	project, inbox = scopes_of(doctype, name)
	Snippet = frappe.qb.DocType(SNIPPET)
	in_scope = (Snippet.project.isnull() | (Snippet.project == "")) if not project else (
		Snippet.project.isnull() | (Snippet.project == "") | (Snippet.project == project))
	in_scope &= (Snippet.email_account.isnull() | (Snippet.email_account == "")) if not inbox else (
		Snippet.email_account.isnull() | (Snippet.email_account == "") | (Snippet.email_account == inbox))
	text = (txt or "").strip()
	names = frappe.qb.from_(Snippet).select(Snippet.name).where(in_scope)
	if text:
		like = f"%{text}%"
		names = names.where(Snippet.title.like(like) | Snippet.content.like(like))
	allowed = [n for (n,) in names.run()]
	if not allowed:
		return []
	rows = frappe.get_list(SNIPPET, filters={"name": ["in", allowed]}, fields=["name", "title", "pinned", "content"],
						   order_by="pinned desc, title asc", limit_page_length=0)  # applies permissions
	rows.sort(key=lambda r: (-int(r.pinned or 0), (r.title or "").casefold()))
	return rows[:MENU_SIZE]


def render_for(snippet: str, doctype: str, name: str) -> dict:
	"""A snippet's content with its merge codes filled in from the document, as this user sees it."""
	document = _readable_document(doctype, name)
	if not frappe.has_permission(SNIPPET, "read", doc=snippet):
		raise frappe.PermissionError(_("You may not read snippet {0}").format(snippet))
	content = frappe.db.get_value(SNIPPET, snippet, "content") or ""
	roots = {"issue": DocRef(doctype, document.name)}
	conversation = store.conversation_of(doctype, name)
	if conversation:
		roots["conversation"] = DocRef(store.CONVERSATION, conversation)
	rendered = render(content, roots, FrappeResolver(user=frappe.session.user), unknown=AS_WRITTEN, as_html=True)
	return {"content": rendered.text, "unknown_codes": rendered.unknown}


def save_from_communication(communication: str, title: str) -> str:
	"""A message an agent wrote and sent from the desk becomes a snippet; received mail never does."""
	comm = frappe.get_doc("Communication", communication)
	if comm.reference_doctype and comm.reference_name:  # agents read a ticket's mail through the ticket
		frappe.has_permission(comm.reference_doctype, "read", doc=comm.reference_name, throw=True)
	else:
		comm.check_permission("read")
	if (comm.sent_or_received != "Sent" or comm.communication_type != "Communication"
			or not privacy.is_desk_user(comm.owner)):
		frappe.throw(_("Only a message written and sent from the desk can become a snippet"), frappe.PermissionError)
	return save_typed(title, comm.content or "", comm.sender, user=comm.owner)


def save_typed(title: str, content: str, sender: str | None = None, user: str | None = None) -> str:
	"""A snippet of the agent's own words in ``content`` (the composer's text, or a sent
	message): without the quoted earlier mail, a ``!filter`` line and the signature."""
	text = own_text(content or "", signatures(user or frappe.session.user, sender))
	if not text.strip():
		frappe.throw(_("There is no text of your own to save as a snippet"))
	return frappe.get_doc({"doctype": SNIPPET, "title": title, "content": text}).insert().name


def signatures(user: str, sender: str | None) -> list[str]:
	"""The signatures a mail ``user`` wrote from ``sender`` may carry: the user's own, the
	sending inbox's (both as stock's composer adds them) and the default outgoing account's
	(what the server appends)."""
	address = parseaddr(sender or "")[1]
	found = [frappe.db.get_value("User", user, "email_signature"),
			 address and frappe.db.get_value("Email Account", {"email_id": address, "add_signature": 1}, "signature"),
			 frappe.db.get_value("Email Account", {"default_outgoing": 1, "add_signature": 1}, "signature")]
	return [s for s in found if s]


def mark_sent_mail(doc, method=None) -> None:
	"""Issue onload: which timeline messages were sent from the desk (v15's timeline rows
	carry no sent_or_received), for their "Save as snippet" action. Indexed on reference."""
	doc.set_onload("pt_sent_mail", frappe.get_all(
		"Communication", filters={"reference_doctype": doc.doctype, "reference_name": doc.name,
								  "sent_or_received": "Sent", "communication_type": "Communication"},
		pluck="name", order_by="creation desc", limit=500))
