"""Whitelisted reads for the desk: "Why here?" on a conversation's document."""

from __future__ import annotations

import json
import re

import frappe
from frappe import _

from ..engine import explanations, lifecycle
from ..engine.decision import Decision
from ..engine.phrases import Phrase
from . import conversations, journal, participants, privacy, review_queue, settings, store
from .lookup import days_in_status


_MESSAGE_ID_IN_EVIDENCE = re.compile(r"<([^<>\s]{1,250})>")


def decisions_for(doctype: str, name: str) -> list[dict]:
	"""Every message of the document's conversation with the decision that put it there.

	Each item is the CLI's ``route --json`` object (message_id, action, conversation, rule,
	evidence, project, attempts, defects, submitted_by, assigned_to) plus where and when the
	mail came from (direction, sender, received_at, communication) and ``links``: for every
	Message-ID the evidence names, the Communication it is stored as.
	"""
	conversation = store.conversation_of(doctype, name)
	if not conversation:
		return []
	Message = frappe.qb.DocType(store.MESSAGE)
	rows = (
		frappe.qb.from_(Message)
		.select(Message.communication, Message.message_id, Message.direction, Message.sender,
				Message.action, Message.rule, Message.evidence, Message.decision, Message.creation)
		.where(Message.conversation == conversation)
		.orderby(Message.creation)
		.run(as_dict=True)
	)
	items = []
	for row in rows:
		decision = json.loads(row.decision or "{}") or {
			"message_id": row.message_id, "action": row.action, "rule": row.rule, "evidence": row.evidence}
		decision.setdefault("attempts", [])
		items.append({**decision, "direction": row.direction, "sender": row.sender, "received_at": row.creation,
					  "communication": row.communication, "explanation": explain_stored(decision),
					  **in_words(decision, doctype)})
	named = {mid for item in items for text in _evidence_texts(item) for mid in _MESSAGE_ID_IN_EVIDENCE.findall(text)}
	stored = dict(
		frappe.qb.from_(Message).select(Message.message_id, Message.communication)
		.where(Message.message_id.isin(list(named)) & Message.communication.isnotnull()).run()
	) if named else {}
	for item in items:
		item["links"] = {mid: stored[mid] for text in _evidence_texts(item)
						 for mid in _MESSAGE_ID_IN_EVIDENCE.findall(text) if mid in stored}
	return items


def in_words(decision: dict, doctype: str) -> dict:
	"""What the dialog leads with: the sentence, badges, why no automatic reply, rule names."""
	words = lambda template, params: _(template).format(**params)  # noqa: E731
	answered = explanations.why_not_answered(decision)
	private = explanations.why_private(decision)
	return {
		"private": words(*private) if private else None,
		"summary": words(*explanations.sentence(decision, _(doctype))),
		"badges": [words(*badge) for badge in explanations.badges(decision)],
		"no_reply": words(*answered) if answered else None,
		"rule_labels": {rule: _(label) for rule, label in explanations.RULE_LABELS.items()},
	}


def _evidence_texts(item: dict) -> list[str]:
	return [item.get("evidence") or ""] + [a.get("evidence") or "" for a in item.get("attempts", [])]


def explain_stored(data: dict) -> str:
	"""The same text the CLI's explain prints, from a stored decision."""
	return Decision.from_dict(data).explain() if data else ""


@frappe.whitelist()
def why_here(doctype: str, name: str) -> list[dict]:
	"""Why each mail of this document landed here (desk users with read permission only)."""
	privacy.require_desk_reader(doctype, name)
	return decisions_for(doctype, name)


# -- the manual review queue ------------------------------------------------------------

#: Queue rows a reviewer can still act on.
WAITING = ("Open", review_queue.SUSPENDED)


def _queue_doctype(item) -> str:
	"""What a queued mail opens or joins: its inbox's conversation DocType (Issue, HD Ticket)."""
	return conversations.account_doctype(item.email_account) if item.email_account else settings.conversation_doctype()


def _open_queue_item(queue: str):
	frappe.has_permission("PT Inbound Queue", "write", doc=queue, throw=True)
	item = frappe.get_doc("PT Inbound Queue", queue)
	if item.status not in WAITING:
		frappe.throw(_("{0} was already resolved ({1})").format(queue, item.status))
	return item


@frappe.whitelist()
def queue_attach(queue: str, reference_name: str) -> str:
	"""Attach a queued mail to an existing document (an Issue by default)."""
	item = _open_queue_item(queue)
	doctype = _queue_doctype(item)
	frappe.has_permission(doctype, "write", doc=reference_name, throw=True)
	parent = frappe.get_doc(doctype, reference_name)
	status_before = parent.get("status")
	user = frappe.session.user
	why = Phrase("Attached from the manual queue ({queue}) by {user}", queue=queue, user=user)
	review_queue.place_queued(item, doctype, reference_name, "queue_attach", why, opened=False)
	review_queue.resolve_queue(queue, "Attached", user, f"attached to {doctype} {reference_name}", (doctype, reference_name))
	placed = participants.people_of_a_placed_mail(item, doctype, reference_name)
	if status_before is not None:
		text = frappe.db.get_value("Communication", item.communication, "text_content") or "" if item.communication else ""
		transition = lifecycle.on_inbound_reply(
			status_before, text, False, days_in_status(parent),
			settings.lifecycle_policy(parent.get("project")), *((placed.sender_role, placed.visibility) if placed else ()))
		if transition.action in ("resume", "reopen") or (transition.action == "none" and transition.note):
			store.apply_transition(doctype, reference_name, status_before, transition)
	return reference_name


@frappe.whitelist()
def queue_create_issue(queue: str, project: str | None = None) -> str:
	"""Open a new document for a queued mail, in the chosen project."""
	item = _open_queue_item(queue)
	doctype = _queue_doctype(item)
	frappe.has_permission(doctype, "create", throw=True)
	meta = frappe.get_meta(doctype)
	values = {"doctype": doctype}
	if meta.get("subject_field") or meta.has_field("subject"):
		values[meta.get("subject_field") or "subject"] = item.subject or _("(no subject)")
	if meta.get("sender_field"):
		values[meta.get("sender_field")] = item.submitted_by or item.sender
	target_field = conversations.of(doctype).target_field if conversations.of(doctype) else "project"
	if project and meta.has_field(target_field):  # a Project, or an HD Team for a Helpdesk inbox
		values[target_field] = project
	document = frappe.get_doc(values).insert(ignore_permissions=True)
	user = frappe.session.user
	where = f" in project {project}" if project else ""
	template = "New {doctype} from the manual queue ({queue}) by {user} in project {project}" if project else \
		"New {doctype} from the manual queue ({queue}) by {user}"
	review_queue.place_queued(item, doctype, document.name, "queue_new",
					   Phrase(template, doctype=Phrase(doctype), queue=queue, user=user, project=project), opened=True)
	review_queue.resolve_queue(queue, "New Issue", user, f"opened {doctype} {document.name}{where}",
						(doctype, document.name))
	participants.people_of_a_placed_mail(item, doctype, document.name)
	return document.name


@frappe.whitelist()
def queue_dismiss(queue: str, reason: str) -> None:
	"""Dismiss a queued mail: it stays stored, with who dismissed it and why."""
	_open_queue_item(queue)
	if not (reason or "").strip():
		frappe.throw(_("Say why the mail is dismissed"))
	review_queue.resolve_queue(queue, "Dismissed", frappe.session.user, reason.strip())


@frappe.whitelist()
def queued_mail(queue: str) -> dict:
	"""The queued mail as a reviewer reads it (read permission on the queue row is enough:
	reviewers need no permission on Communication)."""
	frappe.has_permission(review_queue.QUEUE, "read", doc=queue, throw=True)
	communication = frappe.db.get_value(review_queue.QUEUE, queue, "communication")
	if not communication:
		return {}
	return frappe.db.get_value("Communication", communication, ["sender", "subject", "content", "communication_date"],
							   as_dict=True) or {}


_BULK_ACTIONS = {"dismiss": queue_dismiss, "open": queue_create_issue, "attach": queue_attach}


@frappe.whitelist()
def queue_bulk(action: str, queues: str | list, reason: str | None = None, reference_name: str | None = None,
			   project: str | None = None) -> dict:
	"""One action on many queued mails (the list's bulk menu): each is done or says why not."""
	names = json.loads(queues) if isinstance(queues, str) else list(queues)
	run = _BULK_ACTIONS.get(action)
	if run is None:
		frappe.throw(_("Unknown queue action {0}").format(action))
	args = {"dismiss": {"reason": reason}, "open": {"project": project},
			"attach": {"reference_name": reference_name}}[action]
	done, refused = [], {}
	for name in names:
		frappe.db.savepoint("pt_queue_bulk")
		try:
			run(name, **args)
			done.append(name)
		except frappe.ValidationError as exc:  # e.g. already resolved by someone else
			frappe.db.rollback(save_point="pt_queue_bulk")
			frappe.clear_last_message()
			refused[name] = str(exc)
	return {"done": done, "refused": refused}


# -- the inbound journal: mail that could not be stored -----------------------------------


@frappe.whitelist()
def journal_retry(entry: str) -> None:
	"""Try a parked mail again at the next pull."""
	frappe.only_for("System Manager")
	journal.retry(entry)


@frappe.whitelist()
def journal_open_as_issue(entry: str) -> str:
	"""Store a parked mail as it is and open an Issue for it (the routing chain is not asked:
	it failed on this mail). Returns the Issue."""
	frappe.only_for("System Manager")
	from .email_account import SafeInboundMail
	from .inbound import PTInboundMail

	found = journal.entry_mail(entry)
	if not found or not journal.cross_off(entry):  # opened by another click, or stored by a pull, just now
		frappe.throw(_("This mail is no longer in the inbound journal: it was stored or opened meanwhile"))
	account, raw, error = found
	mail = PTInboundMail.adopt(SafeInboundMail(raw, frappe.get_doc("Email Account", account)))
	_communication, queued = review_queue.store_unprocessed(mail.plain_fields(), mail.parsed, account, error)
	return queue_create_issue(queued)
