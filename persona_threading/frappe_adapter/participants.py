"""The Issue form's participants panel: who is on the conversation, and the agent's edits.

Followers (internal users) are added and removed only here (any agent follows or unfollows;
an agent who replies from the Issue follows it); CCs can be added here too (the blocklist
holds; a new CC gets the public history once) and an inactive one added back; a third
party's reply is made public (and its sender a CC) or its warning dismissed; a customer's
public mail is made an internal note. Every change leaves an audit row on the Issue. What
the panel shows is for desk users only (privacy.require_desk_reader), and so are its edits
(privacy.require_desk_editor).
"""

from __future__ import annotations

import html

import frappe
from frappe import _
from frappe.utils import validate_email_address

from ..engine import decision as act
from ..engine.authenticity import assess
from ..engine.decision import Decision
from ..engine.message import parse_message
from ..engine.participants import (AGENT, CC, FOLLOWER, THIRD_PARTY, Roster, blocking_pattern, reply_recipients,
								   review_participants)
from ..engine.participants import responder_follows as follows_on_response
from ..engine.phrases import Phrase
from . import backfill, followers, notifications, phrases, privacy, review_queue, settings, store, timeline
from .lookup import FrappeLookup


def _conversation_for_edit(doctype: str, name: str) -> str:
	privacy.require_desk_editor(doctype, name)
	return backfill.conversation_for(doctype, name)


def panel(doctype: str, name: str) -> dict:
	"""Participants (requester, CCs, followers, ...) with state and parent, open warnings, and
	the badges each mail carries on its own card of the timeline."""
	privacy.require_desk_reader(doctype, name)
	conversation = store.conversation_of(doctype, name)
	if not conversation:
		return {"participants": [], "warnings": [], "private": [], "received": [], "badges": {}}
	people = frappe.get_all(followers.FOLLOWER, filters={"conversation": conversation},
							fields=["email", "role", "active", "follower_doctype", "follower_name",
									"delivery_status", "bounce_reason"], order_by="creation asc")
	warnings = frappe.get_all(store.MESSAGE, filters={"conversation": conversation, "warning": ["is", "set"],
													  "warning_resolved": 0},
							  fields=["name", "warning", "sender", "communication"], order_by="creation asc")
	messages = frappe.get_all(store.MESSAGE, filters={"conversation": conversation, "communication": ["is", "set"]},
							  fields=["communication", "visibility", "direction", "decision"])
	private = [m.communication for m in messages if m.visibility == "Private"]
	received = [m.communication for m in messages if m.visibility == "Public" and m.direction == "Inbound"]
	badges = {m.communication: marks for m in messages if (marks := timeline.message_badges(m.decision))}
	for warning in warnings:  # in the reader's language; a warning from before is text that
		value = warning.warning or ""  # Frappe's XSS filter stored as "&lt;jonas@…&gt;"
		warning.warning = phrases.shown(value) if phrases.is_stored_phrase(value) else html.unescape(value)
	return {"participants": people, "warnings": warnings, "private": private, "received": received, "badges": badges}


def _refuse_light_agent(what: str) -> None:
	"""Light agents read conversations and write internal notes; nothing they do reaches the
	customer or changes who does (also when they have Support Team too)."""
	if FrappeLookup().is_light_agent(frappe.session.user):
		frappe.throw(_("A light agent cannot {0}").format(what), frappe.PermissionError)


def set_participant(doctype: str, name: str, email: str, role: str, active: int) -> None:
	"""Add or remove a CC or a follower from the form (followers must be internal users)."""
	conversation = _conversation_for_edit(doctype, name)
	email = (email or "").strip().lower()
	if role not in (CC, FOLLOWER) or not email:
		frappe.throw(_("Only CCs and followers are added or removed here"))
	if role == CC:
		_refuse_light_agent(_("add or remove CCs"))
		if int(active):  # typed by an agent (addresses from mail are stored as they came)
			validate_email_address(email, throw=True)
	if role == FOLLOWER and not FrappeLookup().is_active_user(email):
		frappe.throw(_("A follower is an active internal user; {0} is not one").format(email))
	pattern = blocking_pattern(email, settings.routing_policy().cc_blocklist)
	if pattern and int(active):
		frappe.throw(_("{0} is on the CC blocklist ({1})").format(email, pattern))
	row = frappe.db.get_value(followers.FOLLOWER, {"conversation": conversation, "email": email},
							  ["name", "role", "active"], as_dict=True)
	# An agent who wrote in by email (Agent) follows already: following is their choice here too.
	changeable = (CC, FOLLOWER, THIRD_PARTY, AGENT) if role == FOLLOWER else (CC, FOLLOWER, THIRD_PARTY)
	if row and row.role not in changeable:  # the requester stays the requester
		frappe.throw(_("{0} is the {1} of this conversation").format(email, _(row.role)))
	if row and not int(active) and row.role != role and not (role == FOLLOWER and row.role == AGENT):
		frappe.throw(_("{0} is not a {1} here").format(email, _(role)))
	if row:
		frappe.db.set_value(followers.FOLLOWER, row.name, {"role": role, "active": int(active)})
	elif int(active):
		followers.add_follower(conversation, email, role)
	template = "Participants: {email} added as {role} by {user}" if int(active) else \
		"Participants: {email} removed as {role} by {user}"
	timeline.add_audit_row(doctype, name, Phrase(template, email=email, role=Phrase(role), user=frappe.session.user))
	if role == CC and int(active) and (not row or row.role == THIRD_PARTY):  # a new CC, as by email
		notifications.send_history(conversation, (doctype, name), [email])


def responder_follows(conversation: str, reference: tuple[str, str], user: str) -> None:
	"""An agent (or light agent) who replied from the document follows the conversation."""
	lookup = FrappeLookup()
	email = frappe.db.get_value("User", user, "email") if user not in ("Administrator", "Guest") else None
	internal = bool(email) and (lookup.is_agent(user) or lookup.is_light_agent(user))
	change = follows_on_response(Roster(lookup.participants(conversation)), email or "", internal)
	if change:
		followers.add_follower(conversation, change.email, change.role)
		if all(reference):
			timeline.add_audit_row(*reference, Phrase("Participants: {change}", change=change.reason))


def resolve_third_party(doctype: str, name: str, message: str, action: str) -> None:
	"""An agent acts on a third party's reply: make it public and its sender a CC, or dismiss."""
	conversation = _conversation_for_edit(doctype, name)
	row = frappe.get_doc(store.MESSAGE, message)
	if row.conversation != conversation or not row.warning:
		frappe.throw(_("No third-party warning {0} on {1} {2}").format(message, doctype, name))
	if action == "make_public":
		_refuse_light_agent(_("make a reply public"))
		row.db_set({"visibility": "Public", "warning_resolved": 1})
		if blocking_pattern(row.sender or "", settings.routing_policy().cc_blocklist):
			note = "Participants: reply from {sender} made public; not added as CC (blocklist) by {user}"
		else:
			follower = frappe.db.get_value(followers.FOLLOWER, {"conversation": conversation, "email": row.sender},
										   ["name", "role"], as_dict=True)
			if not follower:
				followers.add_follower(conversation, row.sender, CC)
			elif follower.role in (THIRD_PARTY, CC):  # a stranger, or a CC the requester had dropped
				frappe.db.set_value(followers.FOLLOWER, follower.name, {"role": CC, "active": 1})
			else:  # the requester or an internal user keeps their role, active again
				frappe.db.set_value(followers.FOLLOWER, follower.name, "active", 1)
			note = "Participants: reply from {sender} made public and {sender} added as CC by {user}"
	elif action == "dismiss":
		row.db_set("warning_resolved", 1)
		note = "Participants: third-party warning for {sender} dismissed; the reply stays private by {user}"
	else:
		frappe.throw(_("Unknown action {0}").format(action))
	timeline.add_audit_row(doctype, name, Phrase(note, sender=row.sender, user=frappe.session.user))


def people_of_a_placed_mail(item, doctype: str, name: str) -> None:
	"""A queued mail a reviewer attached or opened: its From, To and Cc join the conversation
	by the rules routed mail follows (read from the .eml the queue kept), history and
	follower mail included. An agent's forward keeps the attribution it was queued with.
	Returns the decision (sender_role, visibility), or None when nothing was reviewed."""
	if item.get("submitted_by"):
		return None
	file = frappe.db.get_value("File", {"attached_to_doctype": review_queue.QUEUE, "attached_to_name": item.name}, "name")
	conversation = store.conversation_of(doctype, name)
	if not file or not conversation:
		return None
	raw = frappe.get_doc("File", file).get_content()
	message = parse_message(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape"))
	decision = Decision(message.message_id, act.THREADED, "queue", "placed from the manual queue",
						conversation=conversation)
	policy = settings.routing_policy()
	review_participants(decision, message, FrappeLookup(), policy.cc_blocklist,
						assess(message, policy.trusted_authserv_ids), policy.ccs_by_email)
	followers.apply_participants(conversation, (doctype, name), decision)
	notifications.after_message(conversation, (doctype, name), decision, message.from_addr)
	return decision


def recipients_of_a_public_reply(doctype: str, name: str) -> dict:
	"""{to, cc, inactive} for a public reply from the form: the requester, and the active CCs
	in Cc; ``inactive``: the CCs who are no longer on it (the composer never adds them back)."""
	privacy.require_desk_reader(doctype, name)
	conversation = store.conversation_of(doctype, name)
	if not conversation:
		return {"to": [], "cc": [], "inactive": []}
	people = FrappeLookup().participants(conversation)
	found = reply_recipients(people, settings.routing_policy().cc_blocklist)
	inactive = [p.email.lower() for p in people if p.role == CC and not p.active]
	return {"to": found.to, "cc": found.cc, "inactive": inactive}


def make_internal(communication: str) -> None:
	"""An agent makes a customer's public mail an internal note: desk users only, from then on
	(the portal, REST, quotes and mail to customers leave it out as any private message)."""
	row = frappe.db.get_value(store.MESSAGE, {"communication": communication},
							  ["name", "conversation", "direction", "visibility", "sender"], as_dict=True)
	reference = frappe.db.get_value("Communication", communication, ["reference_doctype", "reference_name"])
	if not row or not reference or not all(reference):
		frappe.throw(_("{0} is no mail of a conversation").format(communication))
	_conversation_for_edit(*reference)
	if row.direction != "Inbound" or row.visibility != "Public":
		frappe.throw(_("Only a received public mail can become an internal note"))
	frappe.db.set_value(store.MESSAGE, row.name, "visibility", "Private")
	timeline.add_audit_row(*reference, Phrase(
		"Participants: the mail from {sender} ({communication}) made an internal note by {user}", sender=row.sender,
		communication=communication, user=frappe.session.user))


def contact_dashboard(data: dict) -> dict:
	"""A Contact lists the conversations its addresses take part in (one address always links
	to the same Contact, across conversations)."""
	data.setdefault("non_standard_fieldnames", {})[followers.FOLLOWER] = "follower_name"
	data.setdefault("dynamic_links", {})["follower_name"] = ["Contact", "follower_doctype"]
	return _with_conversations(data)


def customer_dashboard(data: dict) -> dict:
	"""A Customer lists the conversations of the Contacts linked to it."""
	data.setdefault("non_standard_fieldnames", {})[followers.FOLLOWER] = "customer"
	return _with_conversations(data)


def _with_conversations(data: dict) -> dict:
	"""The Connections tab's group; ``fieldname`` (the Contact's or Customer's own link field,
	as stock dashboards declare it) is what gives the link its count and its filter."""
	data.setdefault("transactions", []).append({"label": _("Conversations"), "items": [followers.FOLLOWER]})
	data.setdefault("fieldname", "follower_name" if "follower_name" in data.get("dynamic_links", {}) else "customer")
	return data
