"""The app's public REST methods, at stable dotted paths (``/api/method/persona_threading.api.*``).

GET and POST both work. The implementations live in ``frappe_adapter``; this module gives
integrations (and the desk's own scripts) one documented place to call.
"""

import frappe

from .frappe_adapter import participants, snippets
from .frappe_adapter.api import why_here


@frappe.whitelist()
def search_snippets(txt: str = "", doctype: str = "Issue", name: str = "") -> list[dict]:
	"""Snippets offered on this document: [{name, title, pinned, content}], content unrendered,
	pinned first then by title, at most 20, the document's project and inbox scopes applied."""
	return snippets.search(txt, doctype, name)


@frappe.whitelist()
def render_snippet(snippet: str, doctype: str = "Issue", name: str = "") -> dict:
	"""{content, unknown_codes}: the snippet with its merge codes filled in from the document
	(unknown codes left as written, e.g. ``{{ issue.nope }}``). 403 without read permission."""
	return snippets.render_for(snippet, doctype, name)


@frappe.whitelist(methods=["POST"])
def save_snippet_from_communication(communication: str, title: str) -> str:
	"""A message sent from the desk becomes a snippet (refused for received mail)."""
	return snippets.save_from_communication(communication, title)


@frappe.whitelist(methods=["POST"])
def save_snippet(title: str, content: str, sender: str = "") -> str:
	"""The composer's text becomes a snippet: the agent's own words only (no quoted earlier
	mail, ``!filter`` line or signature of ``sender`` or the user)."""
	return snippets.save_typed(title, content, sender)


@frappe.whitelist()
def conversation_participants(doctype: str = "Issue", name: str = "") -> dict:
	"""{participants: [{email, role, active, follower_doctype, follower_name, delivery_status,
	bounce_reason}], warnings: [{name, warning, sender, communication}], private: [Communication],
	received: [Communication: customers' public mail]} (desk users with read
	permission; 403 for anyone else, a website user the document is shared with included)."""
	return participants.panel(doctype, name)


@frappe.whitelist(methods=["POST"])
def set_participant(doctype: str, name: str, email: str, role: str, active: int = 1) -> None:
	"""Add (active=1) or remove (active=0) a CC or a follower (desk users with write permission,
	else 403; the blocklist holds)."""
	participants.set_participant(doctype, name, email, role, active)


@frappe.whitelist(methods=["POST"])
def resolve_third_party(doctype: str, name: str, message: str, action: str) -> None:
	"""A third party's reply: ``make_public`` (and add the sender as CC) or ``dismiss`` (desk users
	with write permission, else 403)."""
	participants.resolve_third_party(doctype, name, message, action)


@frappe.whitelist()
def reply_recipients(doctype: str = "Issue", name: str = "") -> dict:
	"""{to, cc, inactive}: a public reply goes to the requester, with the active CCs in Cc (never
	followers); ``inactive``: CCs no longer on it, never added back. Desk users only (else 403)."""
	return participants.recipients_of_a_public_reply(doctype, name)


@frappe.whitelist(methods=["POST"])
def make_internal(communication: str) -> None:
	"""A customer's public mail becomes an internal note (desk agents with write permission)."""
	participants.make_internal(communication)


__all__ = ["make_internal", "reply_recipients", "why_here", "search_snippets", "render_snippet",
		   "save_snippet", "save_snippet_from_communication", "conversation_participants", "set_participant", "resolve_third_party"]
