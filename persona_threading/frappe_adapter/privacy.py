"""Private messages (internal notes, third parties' replies) stay with the agents.

A message is private when its routing record says so (PT Conversation Message.visibility).
Desk users (System Users) see it on the timeline, marked internal; nobody else reads it:
not through REST (permission hooks on Communication) and not on ERPNext's customer portal,
whose /issues/<name> page lists every Communication the visitor was a recipient of.
"""

from __future__ import annotations

import frappe

from ..engine.body import html_to_text
from . import store
from .lookup import FrappeLookup


def is_desk_user(user: str | None = None) -> bool:
	"""A desk (System) user: the session's, or ``user``."""
	user = user or frappe.session.user
	return user == "Administrator" or frappe.get_cached_value("User", user, "user_type") == "System User"


def require_desk_reader(doctype: str, name: str) -> None:
	"""Routing internals (why a mail landed, the participants, warnings, evidence, reply
	recipients) are for desk users who may read the document: anyone else gets 403, also a
	website user the document is shared with (the portal shows them their ticket, not this)."""
	frappe.has_permission(doctype, "read", doc=name, throw=True)
	if not is_desk_user():
		raise frappe.PermissionError(frappe._("Only desk users see how {0} {1} is routed").format(doctype, name))


def require_desk_editor(doctype: str, name: str) -> None:
	"""The participants panel's edits (CCs, followers, a third party's reply, making a mail
	internal) are for desk users who may write the document: 403 for anyone else, also a
	website user the document is shared with for writing."""
	frappe.has_permission(doctype, "write", doc=name, throw=True)
	if not is_desk_user():
		raise frappe.PermissionError(frappe._("Only desk users change the participants of {0} {1}").format(doctype, name))


def conversation_permission(doc, ptype=None, user=None):
	"""has_permission hook on the conversation DocType: a light agent never mails from it
	(stock's reply from the form asks for "email"): no public reply, no CCs by that path."""
	if ptype == "email" and FrappeLookup().is_light_agent(user or frappe.session.user):
		return False
	return None


def private_communications(names) -> set[str]:
	"""Which of these Communications are private (one indexed query)."""
	names = [n for n in names if n]
	if not names:
		return set()
	Message = frappe.qb.DocType(store.MESSAGE)
	rows = (frappe.qb.from_(Message).select(Message.communication)
			.where(Message.communication.isin(names) & (Message.visibility == "Private")).run())
	return {name for (name,) in rows}


def communication_permission(doc, ptype=None, user=None):
	"""has_permission hook: a private Communication is for desk users only (None: no opinion)."""
	if is_desk_user(user) or doc.get("communication_medium") != "Email":
		return None
	return False if private_communications([doc.name]) else None


def communication_query_conditions(user=None) -> str:
	"""permission_query_conditions hook: lists and REST of non-desk users leave private ones out."""
	if is_desk_user(user):
		return ""
	return ("`tabCommunication`.`name` not in (select `communication` from `tabPT Conversation Message`"
			" where `visibility` = 'Private' and `communication` is not null)")


def hide_private_from_portal(context) -> None:
	"""update_website_context hook: the portal's comment list (stock reads it without any
	permission check) drops private Communications for anyone who is not a desk user."""
	comments = context.get("comment_list")
	if not comments or is_desk_user():
		return
	hidden = private_communications([c.get("name") for c in comments])
	if hidden:
		context["comment_list"] = [c for c in comments if c.get("name") not in hidden]


def private_texts(conversation: str) -> list[str]:
	"""The text of each private message of a conversation (what a quote of it would show)."""
	Message, Communication = frappe.qb.DocType(store.MESSAGE), frappe.qb.DocType("Communication")
	rows = (frappe.qb.from_(Message).join(Communication).on(Communication.name == Message.communication)
			.select(Communication.content)
			.where((Message.conversation == conversation) & (Message.visibility == "Private")).run())
	return [html_to_text(content or "") for (content,) in rows]
