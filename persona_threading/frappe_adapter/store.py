"""The ONLY place the Frappe side persists, with followers.py (who follows a conversation),
review_queue.py (the manual queue's rows) and journal.py (the inbound journal):
conversations, messages, audit. How a row is written (fitted, inserted) is rows.py's.

Everything here is called with a Decision the engine already made; nothing here decides.
"""

from __future__ import annotations

import json

import frappe
from frappe import _
from frappe.model.dynamic_links import invalidate_distinct_link_doctypes
from frappe.translate import get_user_lang
from frappe.utils import cstr, parse_addr

from ..engine import decision as act
from ..engine.carriers import Keyring
from ..engine.decision import Decision
from ..engine.forwards import forward_audit_notes
from ..engine.message import InboundMessage, normalize_message_id
from ..engine.outgoing import new_thread_root
from ..engine.participants import Participant
from ..engine.phrases import Phrase
from ..engine.thread_index import decode_thread_index
from . import conversations, phrases, timeline
from .followers import FOLLOWER, apply_participants
from .rows import fitted, record

CONVERSATION = "PT Conversation"
MESSAGE = "PT Conversation Message"
MESSAGE_FOLLOWER = "PT Message Follower"
FOLLOWER_DOCTYPES = ("Contact", "User", "Customer")


def conversation_of(doctype: str, name: str) -> str | None:
	"""The conversation attached to a document (indexed on reference_doctype/name)."""
	return frappe.db.get_value(CONVERSATION, {"reference_doctype": doctype, "reference_name": name}, "name")


def parent_document(conversation: str, reference: tuple[str, str] | None = None):
	"""The document a conversation is attached to, or None when it no longer exists.
	``reference``: that document's (doctype, name) as routing just read it."""
	doctype, name = reference or frappe.db.get_value(CONVERSATION, conversation,
													 ["reference_doctype", "reference_name"]) or (None, None)
	if not (doctype and name):
		return None
	try:
		return frappe.get_doc(doctype, name)
	except frappe.DoesNotExistError:
		frappe.clear_last_message()
		return None


def create_conversation(
	subject: str,
	doctype: str | None,
	name: str | None,
	project: str | None = None,
	email_account: str | None = None,
	thread_root: str | None = None,
	key: str | None = None,
	opened_by: str | None = None,
	follows: tuple[str, str] | None = None,
) -> str:
	doc = frappe.get_doc(
		fitted(CONVERSATION, {
			"doctype": CONVERSATION,
			"subject": cstr(subject) or "(no subject)",
			"reference_doctype": doctype,
			"reference_name": name,
			"project": project if conversations.target_of(doctype) is conversations.PROJECT else None,  # HD Team: on the ticket
			"email_account": email_account,
			"thread_root": thread_root,
			"key": key or Keyring.mint_key(),
			"opened_by": (opened_by or "").lower() or None,
			"follows_doctype": follows[0] if follows else None,  # the closed one a reply to it opened this after
			"follows_name": follows[1] if follows else None,
		})
	)
	record(doc)
	frappe.local.flags.setdefault("pt_conversations_made", set()).add((doctype, cstr(name)))  # an HD Ticket's: a number
	return doc.name


def ensure_conversation(doctype: str, name: str, subject: str = "") -> str:
	"""The document's conversation, created on first use (e.g. an agent writes first)."""
	existing = conversation_of(doctype, name)
	if existing:
		return existing
	project = frappe.db.get_value(doctype, name, "project") if frappe.get_meta(doctype).has_field("project") else None
	return create_conversation(subject or name, doctype, name, project=project)


def follow_project(doc, method=None) -> None:
	"""doc_events on_update of the conversation DocType: the conversation keeps its document's
	project (snippets and routing read it), also when an agent moves the ticket."""
	if doc.get_doc_before_save() is None:  # just inserted: no conversation is attached to it yet
		return
	if not doc.meta.has_field("project") or not doc.has_value_changed("project"):
		return
	conversation = conversation_of(doc.doctype, doc.name)
	if conversation:
		frappe.db.set_value(CONVERSATION, conversation, "project", doc.get("project") or None, update_modified=False)


def attach_conversation(conversation: str, doctype: str, name: str) -> None:
	frappe.db.set_value(CONVERSATION, conversation, {"reference_doctype": doctype, "reference_name": name})


def ensure_thread_root(conversation: str) -> str:
	"""The conversation's Outlook thread root, minted when it has none (for outgoing mail)."""
	root = frappe.db.get_value(CONVERSATION, conversation, "thread_root")
	if not root:
		root = new_thread_root()
		frappe.db.set_value(CONVERSATION, conversation, "thread_root", root, update_modified=False)
	return root


def thread_state(conversation: str, exclude_message_id: str | None = None, public_only: bool = False) -> dict:
	"""What an outgoing message needs: key, last Message-ID, References chain, thread root.
	``public_only``: mail to customers names only the messages they could see (never an
	internal note's or a third party's Message-ID)."""
	key = frappe.db.get_value(CONVERSATION, conversation, "key")
	Message = frappe.qb.DocType(MESSAGE)
	shown = (Message.conversation == conversation) & Message.message_id.isnotnull()
	if public_only:
		shown &= Message.visibility == "Public"
	ids = [
		mid
		for (mid,) in frappe.qb.from_(Message)
		.select(Message.message_id)
		.where(shown)
		.orderby(Message.creation)
		.run()
		if mid and mid != exclude_message_id
	]
	return {"key": key, "in_reply_to": ids[-1] if ids else None, "references": tuple(ids)}


def record_inbound(
	message: InboundMessage, decision: Decision, communication, email_account: str | None,
	parent: tuple[str, str] | None = None, opened: bool = False, follows: tuple[str, str] | None = None,
) -> tuple[str, list[Participant] | None]:
	"""Store one received mail's decision and its effects; returns the Conversation Message,
	and the followers of a conversation it made (those it wrote: nobody else is on it yet).
	The mail it calls for (notifications.after_message) is the caller's to send, after this.
	``parent``: the document routing read as the conversation's (parent_document): attached.
	``opened``: this mail opened the document, so it has a conversation only if one was made
	for it since (an acknowledgement sent on its insert). ``follows``: the closed document a
	reply to which opened this one (link_documents): its timeline names this one."""
	conversation = decision.conversation
	reference = (communication.reference_doctype, cstr(communication.reference_name) or None)
	created = False
	if conversation is None and all(reference):
		made = not opened or reference in frappe.local.flags.get("pt_conversations_made", ())
		conversation = conversation_of(*reference) if made else None
		created = conversation is None
		conversation = conversation or create_conversation(
			message.subject or communication.subject,
			*reference,
			project=decision.project,
			email_account=email_account,
			opened_by=decision.submitted_by or message.from_addr,  # a forward's original sender (flood guard)
			follows=follows,
		)
		decision.conversation = conversation
		if follows and not created:  # made on its insert (an acknowledgement): it follows all the same
			frappe.db.set_value(CONVERSATION, conversation, {"follows_doctype": follows[0], "follows_name": follows[1]},
								update_modified=False)
			invalidate_distinct_link_doctypes(CONVERSATION, "follows_doctype", follows[0])  # as rows.record does
	elif conversation and all(reference) and reference != parent and conversation_of(*reference) != conversation:
		attach_conversation(conversation, *reference)  # its old parent was deleted: a new one now

	direction = "Outbound" if decision.action == act.OUTBOUND else "Inbound"
	followers = None
	if conversation:
		timeline.begin_mail(reference)  # its audit notes go under its routing line
		followers = apply_participants(conversation, reference, decision, new_conversation=created)
	row = _insert_message(message, decision, communication.name, direction)  # with the notes so far
	timeline.mail_stored(row)
	return row, followers


def communication_of_message(message_id: str | None):
	"""The Communication a stored mail (by its Message-ID, derived or not) was received as."""
	name = frappe.db.get_value(MESSAGE, {"message_id": message_id, "communication": ["is", "set"]},
							   "communication", order_by="creation desc") if message_id else None
	return frappe.get_doc("Communication", name) if name else None


def mark_bounced(conversation: str, reference: tuple[str, str], bounces) -> None:
	"""A delivery failure report: the participant it names is marked, and the ticket says so."""
	for bounce in bounces:
		detail = " ".join(part for part in (bounce.status, bounce.reason) if part)[:1000]
		follower = frappe.db.get_value(FOLLOWER, {"conversation": conversation, "email": bounce.address})
		if follower:
			frappe.db.set_value(FOLLOWER, follower, {"delivery_status": "Bounced",
													 "bounce_reason": detail or "delivery failed"})
		if all(reference):
			timeline.add_audit_row(*reference, Phrase(
				"Mail to {address} bounced ({reason}): they did not get the reply", address=bounce.address,
				reason=detail or Phrase("delivery failed")))


def record_outbound(message: InboundMessage, conversation: str, communication: str | None,
					evidence: str) -> str | None:
	"""Store one sent mail so replies to it thread by headers. Idempotent by Message-ID."""
	if message.message_id and frappe.db.exists(MESSAGE, {"message_id": message.message_id}):
		return None
	decision = Decision(message.message_id, act.OUTBOUND, "outbound", evidence, conversation=conversation)
	return _message_row(decision, communication, "Outbound", message.from_addr,
						followers=_message_followers(message))


#: Who a message names is kept for the first this-many To and Cc addresses each (the raw
#: headers keep every one): a hostile mail must not cost a row per name.
MAX_MESSAGE_FOLLOWERS = 100


def _message_followers(message: InboundMessage) -> list[dict]:
	"""PT Message Follower rows: who the mail's From, To and Cc headers name (never Bcc)."""
	followers = [{"email": message.from_addr, "role": "From"}] if message.from_addr else []
	for role, addresses in (("To", message.to), ("Cc", message.cc)):
		named = dict.fromkeys(a.lower() for a in addresses)  # each once; a mail may repeat 3,000
		followers += [{"email": a, "role": role} for a in list(named)[:MAX_MESSAGE_FOLLOWERS]]
	return [fitted(MESSAGE_FOLLOWER, row) for row in followers]


def _insert_message(message: InboundMessage, decision: Decision, communication: str, direction: str) -> str:
	index = decode_thread_index(message.thread_index)
	return _message_row(decision, communication, direction, message.from_addr, followers=_message_followers(message),
						thread_root=index.root if index and index.is_root else None,
						digest=message.content_digest, sent_date=(message.date or "")[:140] or None,
						notes=timeline.mail_notes())


def _message_row(decision: Decision, communication: str | None, direction: str, sender: str, **extra) -> str:
	"""One PT Conversation Message: the mail's identity and the decision that placed it."""
	doc = frappe.get_doc(
		fitted(MESSAGE, {
			"doctype": MESSAGE,
			"conversation": decision.conversation,
			"communication": communication,
			"message_id": decision.message_id or None,
			"direction": direction,
			"visibility": "Private" if decision.visibility == "private" else "Public",
			"sender": sender,
			"action": decision.action,
			"rule": decision.rule,
			"evidence": decision.evidence[:1000],
			"warning": phrases.stored(decision.warning) or None,
			"decision": json.dumps(decision.as_dict()),
			**extra,
		})
	)
	try:
		record(doc)
	except frappe.UniqueValidationError:
		# This very mail (Message-ID and content) has a record whose Communication was deleted
		# since: fetched again, the new Communication takes that record over (stored once).
		frappe.clear_last_message()
		existing = frappe.db.get_value(MESSAGE, {"message_id": doc.message_id, "digest": doc.get("digest")})
		if not existing:
			raise
		taken_over = {"communication": communication, "conversation": decision.conversation}
		if "notes" in extra:  # this mail's notes follow those of its first processing
			taken_over["notes"] = timeline.after_earlier_notes(frappe.db.get_value(MESSAGE, existing, "notes"))
		frappe.db.set_value(MESSAGE, existing, taken_over)
		return existing
	return doc.name


def record_imported(conversation: str, communication: dict) -> bool:
	"""Backfill one existing Communication into a conversation; False when already there.
	Stored as of when stock stored it (the newest stored match wins, engine.rules.references);
	its people are the backfill's (frappe_adapter.backfill)."""
	message_id = normalize_message_id(communication.get("message_id") or "")
	if message_id and frappe.db.exists(MESSAGE, {"message_id": message_id}):
		return False
	if frappe.db.exists(MESSAGE, {"communication": communication["name"]}):
		return False
	outbound = communication.get("sent_or_received") == "Sent"
	decision = Decision(message_id, act.OUTBOUND if outbound else act.THREADED, "backfill",
						"imported from an existing Communication", conversation=conversation)
	row = _message_row(decision, communication["name"], "Outbound" if outbound else "Inbound",
					   parse_addr(communication.get("sender") or "")[1])
	_stored_at(row, communication.get("creation"))
	return True


def record_sent_history(conversation: str, message_id: str | None, sender: str, at) -> bool:
	"""Mail stock sent without a Communication (its auto-reply: an Email Queue row), so a reply
	to it threads; False when already there."""
	if not message_id or frappe.db.exists(MESSAGE, {"message_id": message_id}):
		return False
	decision = Decision(message_id, act.OUTBOUND, "backfill", "imported from stock's Email Queue",
						conversation=conversation)
	_stored_at(_message_row(decision, None, "Outbound", sender), at)
	return True


def _stored_at(row: str, at) -> None:
	if at:
		frappe.db.set_value(MESSAGE, row, {"creation": at, "modified": at}, update_modified=False)


def forget_communication(doc, method=None):
	"""Communication on_trash: keep the routing record (the audit), drop the dead link."""
	for doctype in (MESSAGE, "PT Inbound Queue", "PT Automatic Mail"):
		Table = frappe.qb.DocType(doctype)
		frappe.qb.update(Table).set(Table.communication, None).where(Table.communication == doc.name).run()


# -- new documents, links and status transitions ----------------------------------------


def shape_new_document(doctype: str, name: str, decision: Decision, subject: str | None) -> None:
	"""A document the engine opened: project, subject, forward attribution, assignment."""
	meta = frappe.get_meta(doctype)
	values = {}
	if decision.project and not conversations.of(doctype) and meta.has_field("project"):
		values["project"] = decision.project  # a known ticket kind has it from its insert (route_new_ticket)
	if subject and meta.has_field("subject"):
		values["subject"] = subject[:140]
	if values:
		frappe.db.set_value(doctype, name, values)
	apply_forward_attribution(doctype, name, decision.submitted_by, decision.assigned_to, set_requester=True)


def apply_forward_attribution(doctype: str, name: str, submitted_by: str | None, assigned_to: str | None,
							  set_requester: bool) -> None:
	"""An agent's forward: the original sender is the requester, the agent gets it assigned.

	``set_requester``: the document was opened for this mail (its sender field becomes the
	original sender); an existing document keeps its requester.
	"""
	notes = forward_audit_notes(submitted_by, assigned_to)
	if not notes:
		return
	sender_field = frappe.get_meta(doctype).get("sender_field")
	if set_requester and sender_field and frappe.db.get_value(doctype, name, sender_field) != submitted_by:
		frappe.db.set_value(doctype, name, sender_field, submitted_by)  # not already set on the insert
	assign_forwarder(doctype, name, submitted_by, assigned_to)
	for note in notes:
		timeline.add_audit_row(doctype, name, note)


def assign_forwarder(doctype: str, name: str, submitted_by: str, assigned_to: str) -> None:
	"""The forwarding agent gets the document assigned, once (on the insert for a document the
	forward opens: helpdesk.assign_forwarder, before the assignment rules run)."""
	if frappe.db.exists("ToDo", {"reference_type": doctype, "reference_name": name, "allocated_to": assigned_to,
								 "status": "Open"}):
		return
	from frappe.desk.form.assign_to import add as assign

	description = _("Forwarded by you on behalf of {0}", lang=get_user_lang(assigned_to)).format(submitted_by)
	assign({"assign_to": [assigned_to], "doctype": doctype, "name": name, "description": description},
		   ignore_permissions=True)


def stored_decision(message_row: str | None) -> Decision | None:
	"""The Decision recorded on a PT Conversation Message (None when there is none)."""
	data = json.loads(frappe.db.get_value(MESSAGE, message_row, "decision") or "{}") if message_row else {}
	return Decision.from_dict(data) if data else None


def link_documents(old, doctype: str, name: str, note: str) -> None:
	"""A reply to a closed ticket opened a new one: the new one says which it follows, under
	its mail's routing line; the closed one names the new one from its conversation's
	``follows`` (record_inbound), when its timeline is shown (timeline.routing_lines)."""
	timeline.begin_mail((doctype, name))
	timeline.add_audit_row(doctype, name, Phrase("{note} (follows {doctype} {name})", note=note,
												 doctype=Phrase(old.doctype), name=old.name))


def apply_transition(doctype: str, name: str, status_before: str | None, transition) -> None:
	"""Set the status the engine chose; undo stock's "Open on any received mail" otherwise."""
	current = frappe.db.get_value(doctype, name, "status")
	target = transition.status or status_before
	if target and current != target:
		frappe.db.set_value(doctype, name, "status", target)
	if transition.event:
		timeline.add_audit_row(doctype, name, Phrase(
			"{event}: {before} → {after}. {note}", event=Phrase(transition.event), before=Phrase(str(status_before)),
			after=Phrase(str(target)), note=transition.note))
	elif transition.note:
		timeline.add_audit_row(doctype, name, transition.note)
