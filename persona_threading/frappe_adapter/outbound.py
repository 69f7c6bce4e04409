"""Stamp mail sent from a conversation's document so the customer's reply threads back.

Two doc_events, each doing one thing:
- Communication before_insert: subject and body carry the configured carriers.
- Email Queue before_insert: threading headers (In-Reply-To, References, Thread-Index,
  plus-addressed Reply-To) go into the raw MIME, and the Message-ID is recorded.
"""

from __future__ import annotations

import frappe

from ..engine import decision as act
from ..engine.decision import Decision
from ..engine.message import normalize_message_id, parse_message
from ..engine.participants import review_participants
from ..engine.outgoing import stamp, strip_carriers, threading_headers
from ..engine.phrases import Phrase
from ..engine.quoting import drop_private_quotes
from . import (auto_reply, automated_mail, backfill, conversations, followers, notifications, participants, privacy,
			   sent_mail, settings, store, timeline)
from .lookup import FrappeLookup


def _conversation_mail(reference_doctype: str | None, reference_name: str | None) -> bool:
	return bool(reference_doctype and reference_name and settings.enabled()
				and conversations.is_conversation(reference_doctype))


def unstamp_received(doc, method=None):
	"""Communication validate: a received mail's record without the carriers it quotes.

	A customer's reply quotes our subject token and footer; routing read them from the raw
	mail already, and the ticket's feed should not show them (the raw .eml keeps them).
	On validate, not before_insert: stock's receive sets the content again and saves.
	"""
	if doc.communication_medium != "Email" or doc.sent_or_received != "Received" or not settings.enabled():
		return
	if doc.reference_doctype and not conversations.is_conversation(doc.reference_doctype):
		return
	shown = strip_carriers(doc.subject or "", doc.get("text_content"), doc.content or "")
	doc.subject, doc.content = shown.subject, shown.html
	if doc.get("text_content"):
		doc.text_content = shown.text


def stamp_communication(doc, method=None):
	"""Communication before_insert: put the conversation's carriers in subject and body."""
	if doc.communication_medium != "Email" or doc.sent_or_received != "Sent":
		return
	if not _conversation_mail(doc.reference_doctype, doc.reference_name):
		return
	conversation = backfill.conversation_for(doc.reference_doctype, doc.reference_name, doc.subject)
	doc.content, removed = drop_private_quotes(doc.content or "", privacy.private_texts(conversation))
	if removed:
		timeline.add_audit_row(doc.reference_doctype, doc.reference_name,
							   Phrase("A quote of a private message (internal note) was removed from an outgoing reply"))
	state = store.thread_state(conversation)
	stamped = stamp(
		key=state["key"],
		keyring=settings.keyring(),
		subject=doc.subject or "",
		text="",
		html_body=doc.content or "",
		reply=bool(state["in_reply_to"]),
		use=settings.carriers(),
	)
	doc.flags.pt_unstamped = (doc.subject, doc.content)
	doc.subject, doc.content = stamped.subject, stamped.html


def keep_record_unstamped(doc, method=None):
	"""Communication after_insert: the stored record is what the agent wrote, without carriers.

	The mail goes out stamped (stock sends from this in-memory document right after insert);
	the timeline, the portal and the quoted history of later replies read the database, and
	agents never see threading tokens there (as in Salesforce's case feed).
	"""
	unstamped = doc.flags.get("pt_unstamped")
	if unstamped:
		frappe.db.set_value("Communication", doc.name, {"subject": unstamped[0], "content": unstamped[1]},
							update_modified=False)


def thread_email_queue(doc, method=None):
	"""Email Queue before_insert: threading headers into the raw MIME; record the Message-ID."""
	if not doc.message:
		return
	if doc.communication:
		reference = frappe.db.get_value(
			"Communication", doc.communication, ["reference_doctype", "reference_name", "sender"]
		)
	else:  # Frappe Helpdesk's acknowledgement and feedback mail: no Communication, X-Auto-Generated
		reference = ((doc.reference_doctype, doc.reference_name, doc.sender)
					 if sent_mail.marked_automatic(doc.message) else None)
	if not reference or not _conversation_mail(reference[0], reference[1]):
		return
	automatic = not doc.communication or auto_reply.is_automatic(doc.communication)
	conversation = store.ensure_conversation(reference[0], reference[1])
	message_id = normalize_message_id(doc.message_id or "")
	state = store.thread_state(conversation, exclude_message_id=message_id, public_only=True)  # to customers
	inbox = frappe.db.get_value("PT Conversation", conversation, "email_account")
	inbox_address = frappe.db.get_value("Email Account", inbox, "email_id") if inbox else None
	headers = threading_headers(
		token=settings.keyring().token(state["key"]),
		in_reply_to=state["in_reply_to"],
		references=state["references"],
		thread_root=store.ensure_thread_root(conversation),
		reply_to=inbox_address,
		use=settings.carriers(),
	)
	if automatic:
		headers.update(auto_reply.LOOP_HEADERS)
		if frappe.flags.get(automated_mail.AUTO_GENERATED_FLAG):  # a Notification's mail answers no message
			headers["Auto-Submitted"] = "auto-generated"
	doc.message = sent_mail.set_headers(doc.message, headers)
	# Mail built from a text of its own (Helpdesk's reply, acknowledgement): carriers into the MIME.
	doc.message = sent_mail.with_carriers(doc.message, state["key"], settings.keyring(), settings.carriers())
	message = parse_message(doc.message.encode("utf-8", "surrogateescape"))
	row = store.record_outbound(message, conversation, doc.communication, "sent from the document by Frappe")
	if row and not automatic:
		_people_of_a_sent_mail(conversation, (reference[0], reference[1]), message)


def _people_of_a_sent_mail(conversation: str, reference: tuple[str, str], message) -> None:
	"""A reply sent from the document updates the participants from its To and Cc (the
	engine's rules, as for received mail: a CC it leaves off is no CC any more), the agent who
	sent it follows the conversation, and its followers hear of it by a separate mail."""
	decision = Decision(message.message_id, act.OUTBOUND, "outbound", "sent from the document",
						conversation=conversation)
	review_participants(decision, message, FrappeLookup(), settings.routing_policy().cc_blocklist)
	followers.apply_participants(conversation, reference, decision)
	participants.responder_follows(conversation, reference, frappe.session.user)
	notifications.after_message(conversation, reference, decision, frappe.session.user)
