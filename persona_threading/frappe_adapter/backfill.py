"""Backfill: conversations for documents and Communications that predate the app.

Two ways in, one code path: ``bench … persona-threading backfill`` walks every document, and
the lookup adopts ONE document on demand (``adopt_history``) the first time a mail names a
Message-ID that only stock's records know (Communication.message_id, Email Queue.message_id,
both indexed by Frappe): a reply to mail the site stored or sent before the app was installed
or switched on threads as stock would have threaded it, with no manual step.

A document's people come with it: the Requester is the document's sender field (Issue:
``raised_by``); each stored mail, oldest first, goes through the engine's participant rules as
if it arrived now (engine.participants): recipients of the customer's mail and of agents' sent
mail become CCs, active as the last mail left them; agents who sent mail join as Agent;
followers are never touched. Idempotent: a mail already recorded is skipped, and so are its
people.
"""

from __future__ import annotations

from typing import Sequence

import frappe
from frappe.utils import parse_addr

from ..engine import decision as act
from ..engine.decision import Decision
from ..engine.message import normalize_message_id, parse_message
from ..engine.participants import AGENT, CHANGE_ROLE, REQUESTER, Roster, review_participants
from ..engine.phrases import Phrase
from ..history import rebuild_message
from . import conversations, followers, settings, store, timeline
from .lookup import COMMUNICATION, QUEUE, FrappeLookup

FIELDS = ("name", "creation", "message_id", "sent_or_received", "sender", "recipients", "cc", "subject", "user",
		  "communication_type")


def backfill_document(doctype: str, name: str) -> int:
	"""Attach a document's email Communications to its conversation, with their people;
	returns how many were new."""
	fields = list(FIELDS) + (["pt_headers"] if frappe.get_meta("Communication").has_field("pt_headers") else [])
	communications = frappe.get_all(
		"Communication",
		filters={"reference_doctype": doctype, "reference_name": name, "communication_medium": "Email"},
		fields=fields,
		order_by="creation asc",
	)
	if not communications:
		return 0
	requester = _requester(doctype, name, communications)
	conversation = store.conversation_of(doctype, name) or store.create_conversation(
		communications[0].subject or name, doctype, name, project=_project(doctype, name), opened_by=requester)
	lookup = FrappeLookup()
	_keep_requester(conversation, requester, lookup)
	added = 0
	for communication in communications:
		if store.record_imported(conversation, communication):
			added += 1
			_people_of(conversation, communication, lookup)
	if added:
		people = ", ".join(f"{p.email} ({p.role})" for p in lookup.participants(conversation) if p.active)
		timeline.add_audit_row(doctype, name, Phrase(
			"Conversation built from the existing history: {count} mail(s); participants: {people}", count=added,
			people=people or Phrase("none")))
	return added


def conversation_for(doctype: str, name: str, subject: str = "") -> str:
	"""The document's conversation: its own, else one built from its history (an agent answers
	a ticket from before the app: the reply threads on, its people are known), else a new one."""
	existing = store.conversation_of(doctype, name)
	if existing:
		return existing
	backfill_document(doctype, name)
	return store.ensure_conversation(doctype, name, subject)


def adopt_history(found: Sequence[tuple]) -> tuple[bool, set[str]]:
	"""Mail stock stored or sent under Message-IDs the app has not recorded (``found``: the
	rows FrappeLookup read of them: kind, message_id, doctype, name, sender, creation): the
	documents of the conversation DocType it belongs to are adopted, each with its whole
	history. Returns whether anything was recorded, and which of the ids (lower case) any
	Communication carries (stock's duplicate check need not ask again about the others)."""
	doctypes = list(conversations.doctypes()) or [settings.conversation_doctype()]  # Issue, HD Ticket
	stored = [row[1:4] for row in found if row[0] == COMMUNICATION]
	queued = [frappe._dict(zip(("message_id", "reference_doctype", "reference_name", "sender", "creation"), row[1:]))
			  for row in found if row[0] == QUEUE]
	documents = {(doctype, name) for _, doctype, name in stored if doctype in doctypes and name}
	documents |= {(row.reference_doctype, row.reference_name) for row in queued}
	adopted = False
	for doctype, name in sorted(documents, key=str):
		if not frappe.db.exists(doctype, name):
			continue
		frappe.db.get_value(doctype, name, "name", for_update=True)  # one worker adopts a document at a time
		adopted |= bool(backfill_document(doctype, name))
	for row in queued:  # stock's mail without a Communication (its own auto-reply): stored as sent mail
		conversation = store.conversation_of(row.reference_doctype, row.reference_name)
		if conversation and store.record_sent_history(conversation, normalize_message_id(row.message_id),
													  parse_addr(row.sender or "")[1], row.creation):
			adopted = True
	return adopted, {message_id.lower() for message_id, *_ in stored if message_id}


def backfill_all(batch_size: int = 500, progress=None) -> dict:
	"""Every document of the conversation DocType, oldest first, committing every batch."""
	doctype = settings.conversation_doctype()
	names = frappe.get_all(doctype, pluck="name", order_by="creation asc")
	done = {"documents": 0, "messages": 0}

	def run(items):
		for index, name in enumerate(items, 1):
			added = backfill_document(doctype, name)
			done["documents"] += 1 if added else 0
			done["messages"] += added
			if index % batch_size == 0:
				frappe.db.commit()  # nosemgrep: long backfills commit per batch

	if progress is None:
		run(names)
	else:
		with progress(names, label=f"Backfilling {doctype}") as bar:
			run(bar)
	frappe.db.commit()  # nosemgrep
	return done


def _project(doctype: str, name: str) -> str | None:
	return frappe.db.get_value(doctype, name, "project") if frappe.get_meta(doctype).has_field("project") else None


def _requester(doctype: str, name: str, communications) -> str | None:
	"""The document's sender field (Issue: raised_by), else the first received mail's sender."""
	sender_field = frappe.get_meta(doctype).get("sender_field")
	requester = frappe.db.get_value(doctype, name, sender_field) if sender_field else None
	if not requester:
		requester = next((c.sender for c in communications if c.sent_or_received == "Received" and c.sender), None)
	return parse_addr(requester)[1].lower() if requester else None


def _keep_requester(conversation: str, requester: str | None, lookup: FrappeLookup) -> None:
	"""A conversation without a Requester gets the document's (a row they had becomes it)."""
	if not requester or Roster(lookup.participants(conversation)).requester is not None:
		return
	plan = {"changes": [{"email": requester, "change": CHANGE_ROLE, "role": REQUESTER, "reason": None}]}
	followers.apply_participants(conversation, (None, None), Decision(None, act.THREADED, "backfill", "",
																   conversation=conversation, participants=plan))


def _people_of(conversation: str, communication: dict, lookup: FrappeLookup) -> None:
	"""One stored mail through the engine's participant rules, as if it arrived now; no
	audit row per change (one summary row says what the backfill did)."""
	sent = communication.sent_or_received == "Sent"
	raw = rebuild_message(communication.get("pt_headers"), message_id=normalize_message_id(communication.message_id),
						  in_reply_to=None, subject=communication.subject or "", sender=communication.sender or "",
						  recipients=communication.recipients or "", cc=communication.cc or "", date=None, html="")
	message = parse_message(raw)
	decision = Decision(message.message_id, act.OUTBOUND if sent else act.THREADED, "backfill",
						"imported from an existing Communication", conversation=conversation)
	review_participants(decision, message, lookup, settings.routing_policy().cc_blocklist)
	followers.apply_participants(conversation, (None, None), decision)
	if sent and communication.communication_type != "Automated Message":
		_agent_joins(conversation, communication, lookup)


def _agent_joins(conversation: str, communication: dict, lookup: FrappeLookup) -> None:
	"""The agent who sent the mail (its From when that is a person, else the desk user)."""
	sender = parse_addr(communication.sender or "")[1].lower()
	for candidate in (sender, communication.user):
		if candidate and candidate not in ("Administrator", "Guest") and lookup.inbox(candidate) is None \
				and lookup.is_active_user(candidate):
			if lookup.participant_role(conversation, candidate) is None:
				followers.add_follower(conversation, candidate, AGENT)
			return
