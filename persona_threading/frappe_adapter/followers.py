"""Who follows a conversation: the engine's participant changes applied for one mail, a
follower added once, each linked to their Contact (or User) and that Contact's Customer.
Persisted here only (with store.py, review_queue.py and journal.py); nothing here decides.
"""

from __future__ import annotations

import frappe

from ..engine.decision import Decision
from ..engine.participants import CHANGE_ROLE, DEACTIVATE, JOIN, REACTIVATE, REQUESTER, Participant, sender_role
from ..engine.phrases import Phrase
from . import timeline
from .rows import fitted, record
from .statements import placeholder, prepared

FOLLOWER = "PT Conversation Follower"


def apply_participants(conversation: str, reference: tuple[str, str], decision: Decision,
					   new_conversation: bool = False) -> list[Participant] | None:
	"""Apply the engine's participant changes for one mail (engine.participants): who joins,
	leaves, comes back or changes role; one audit row on the document for each, with why.
	``new_conversation``: made for this mail, so nobody is on it yet but whom this adds;
	then returns its followers as written (in order), which need not be read back."""
	added, written = set(), {}
	for change in (decision.participants or {}).get("changes", []):
		email, kind, role = change["email"], change["change"], change.get("role")
		if new_conversation and email not in added:
			row = None
		else:
			row = frappe.db.get_value(FOLLOWER, {"conversation": conversation, "email": email})
		added.add(email)
		if kind == JOIN and not row:
			written[email] = _insert_follower(conversation, email, role)
		elif kind == CHANGE_ROLE:
			if row:
				frappe.db.set_value(FOLLOWER, row, {"role": role, "active": 1})
				if written.get(email):
					written[email] = Participant(written[email].email, role, True)
			else:
				written[email] = _insert_follower(conversation, email, role)
		elif kind in (DEACTIVATE, REACTIVATE) and row:
			frappe.db.set_value(FOLLOWER, row, "active", int(kind == REACTIVATE))
			if written.get(email):
				written[email] = Participant(written[email].email, written[email].role, kind == REACTIVATE)
		if all(reference) and change.get("reason"):
			timeline.add_audit_row(*reference, Phrase("Participants: {change}", change=change["reason"]))
	if not new_conversation or None in written.values():
		return None  # another worker added someone meanwhile: read them
	return list(written.values())


def add_follower(conversation: str, email: str, role: str | None = None) -> None:
	"""Add someone once; a sender with no role given gets the engine's sender_role (Requester,
	else Third party: a reply that threaded never silently makes its sender a follower)."""
	if email and not frappe.db.exists(FOLLOWER, {"conversation": conversation, "email": email}):
		_insert_follower(conversation, email, role)


def _insert_follower(conversation: str, email: str, role: str | None) -> Participant | None:
	"""add_follower, for a caller that knows they are not there yet: who was added (None:
	another worker added them a moment ago)."""
	if role is None:
		role = sender_role(bool(frappe.db.exists(FOLLOWER, {"conversation": conversation, "role": REQUESTER})))
	doctype, name, customer = _follower_parent(email)
	try:
		follower = frappe.get_doc(
			fitted(FOLLOWER, {
				"doctype": FOLLOWER,
				"conversation": conversation,
				"email": email,
				"role": role,
				"active": 1,
				"follower_doctype": doctype,
				"follower_name": name,
				"customer": customer,
			})
		)
		record(follower)
	except frappe.UniqueValidationError:  # another worker added them a moment ago
		frappe.clear_last_message()
		return None
	return Participant(follower.email, follower.role, True)


def _follower_parent(email: str) -> tuple[str | None, str | None, str | None]:
	"""(parent doctype, parent, customer): the Contact with this email id (the oldest, so one
	address always has the same parent), else the User; and the Customer that Contact links
	to, whose form then lists the conversation too. Each an indexed lookup."""
	found = _contact_of(email=email)
	if found:
		return "Contact", found[0][0], found[0][1]
	if frappe.db.exists("User", email):
		return "User", email, None
	return None, None, None


@prepared
def _contact_of():
	"""The oldest Contact with the ``email`` id, and the first Customer it links to."""
	ContactEmail, Link = frappe.qb.DocType("Contact Email"), frappe.qb.DocType("Dynamic Link")
	return (
		frappe.qb.from_(ContactEmail)
		.left_join(Link).on((Link.parent == ContactEmail.parent) & (Link.parenttype == "Contact")
							& (Link.link_doctype == "Customer"))
		.select(ContactEmail.parent, Link.link_name)
		.where(ContactEmail.email_id == placeholder("email"))
		.orderby(ContactEmail.creation).orderby(Link.idx)
		.limit(1)
	)
