"""Frappe Helpdesk: HD Ticket as a conversation DocType beside Issue.

Everything here reads Helpdesk's model by feature detection (conversations.registry: the
DocType, its fields) and does nothing on a site without it. What Helpdesk does on its own
that the chain decides instead:

- its acknowledgement of a new ticket (``HDTicket.after_insert``) waits for the engine's
  automatic-reply limits (``opening`` holds it back, ``acknowledge`` sends it or says why not),
  so at most one automatic mail goes out: Helpdesk's or the inbox's own, never both;
- its "reopen on any received mail" (``HDTicket.on_communication_update``) sets the status
  the engine chose (``expect_status``, ``keep_engine_status``);
- its agent UI reads a ticket's Communications with its own query (``hd_ticket.api.get_one``):
  ``get_one`` removes private mail for anyone but desk users;
- agents read the routing decision where they work: an HD Ticket Activity in words.

What Helpdesk does that keeps running: a ticket the engine opens is inserted in its team (and,
for an agent's forward, for the original sender), so the team's assignment rule and SLA act on
it as on Helpdesk's own tickets (``route_new_ticket``); notes its agent UI writes (HD Ticket
Comment) reach the followers by mail, as desk notes on Issue do (``note``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from functools import partial

import frappe
from frappe import _

from ..engine import explanations
from ..engine.forwards import forward_audit_notes
from ..engine.limits import should_auto_reply
from . import conversations, notifications, privacy, settings, store, timeline
from .conversations import HD_TEAM, HD_TICKET

HD_SETTINGS = "HD Settings"
ACTIVITY = "HD Ticket Activity"
GET_ONE = "helpdesk.helpdesk.doctype.hd_ticket.api.get_one"

#: Routing by HD Team: fields this app adds where Helpdesk is installed (removed on uninstall).
FIELDS = {
	HD_TEAM.doctype: [
		{"fieldname": "pt_inbound_prefix", "fieldtype": "Data", "label": "Inbound email prefix", "unique": 1,
		 "insert_after": "team_name",
		 "description": "Mail whose subject starts with #PREFIX lands on an HD Ticket of this team."},
		{"fieldname": "pt_accepts_inbound", "fieldtype": "Check", "label": "Accepts inbound email", "default": "1",
		 "insert_after": "pt_inbound_prefix",
		 "description": "Off: a #PREFIX reaches this team only through an inbox that has it as a scope."},
	],
	"Email Account": [
		{"fieldname": "pt_team_scopes", "fieldtype": "Table", "label": "Team scopes (Helpdesk)",
		 "options": "PT Inbox Team", "insert_after": "pt_default_project",
		 "description": "For an inbox whose mail appends to HD Ticket: the HD Teams it routes to."},
		{"fieldname": "pt_default_team", "fieldtype": "Link", "label": "Default landing team", "options": "HD Team",
		 "insert_after": "pt_team_scopes",
		 "description": "Where new mail lands when this inbox serves several teams and no #PREFIX routes it. "
						"Admins only; must be one of the approved, receive-enabled team scopes.",
		 "depends_on": "eval:(doc.pt_team_scopes || []).filter(s => s.approved && s.receive_enabled).length > 1"},
	],
}


def installed() -> bool:
	return conversations.of(HD_TICKET) is not None


def install_fields() -> None:
	"""after_migrate / after_app_install: the HD Team routing fields, where Helpdesk is."""
	if not installed():
		return
	from frappe.custom.doctype.custom_field.custom_field import create_custom_fields

	create_custom_fields(FIELDS, update=True)


def remove_fields() -> None:
	for doctype, fields in FIELDS.items():
		for field in fields:
			name = frappe.db.get_value("Custom Field", {"dt": doctype, "fieldname": field["fieldname"]})
			if name:
				frappe.delete_doc("Custom Field", name, ignore_permissions=True)


# -- one automatic reply ------------------------------------------------------------------


def acknowledgement_in_use(doctype: str | None) -> bool:
	"""Helpdesk's acknowledgement is the automatic reply of HD Ticket inboxes when it is on."""
	return doctype == HD_TICKET and installed() and bool(
		frappe.db.get_single_value(HD_SETTINGS, "send_acknowledgement_email"))


@contextlib.contextmanager
def opening(doctype: str, mail):
	"""Around the creation of a document for ``mail``: Helpdesk's acknowledgement is held back
	(its ``after_insert`` skips it during an initial sync) and decided after the mail is
	stored (``acknowledge``, after the commit)."""
	if doctype != HD_TICKET:
		yield
		return
	before = frappe.flags.initial_sync
	frappe.flags.initial_sync = True
	try:
		yield
	finally:
		frappe.flags.initial_sync = before
	frappe.db.after_commit.add(partial(acknowledge, mail))


def _opening_forward():
	"""The decision of the ticket being opened when it is an agent's forward, else None."""
	decision = getattr(frappe.local, "pt_opening", None)
	forward = decision is not None and forward_audit_notes(decision.submitted_by, decision.assigned_to)
	return decision if forward else None


def route_new_ticket(doc, method=None) -> None:
	"""before_insert of a conversation DocType (Issue, HD Ticket): the document the engine opens
	(``PTInboundMail._create_reference_document``) is inserted in its routing target (Project,
	HD Team) and, for an agent's forward, for the original sender. The DocType's own insert then
	does the rest: Assignment Rules on the project or the team (Frappe applies them on the
	insert's on_update) see it, Helpdesk's SLA is chosen with the team known, the contact and
	customer are the requester's. Written after the insert (as before), Helpdesk's base rotation
	had already assigned the ticket to anyone, and a forward's contact was the forwarding agent's."""
	decision = getattr(frappe.local, "pt_opening", None)
	kind = conversations.of(doc.doctype)
	if decision is None or kind is None:
		return
	if decision.project and kind.target_field:
		doc.set(kind.target_field, decision.project)
	if _opening_forward() and kind.sender_field:
		doc.set(kind.sender_field, decision.submitted_by)


def assign_forwarder(doc, method=None) -> None:
	"""after_insert of a conversation DocType, which runs before the insert's on_update applies
	the assignment rules: an agent's forward is the forwarding agent's, a rotation adds nobody."""
	decision = _opening_forward()
	if decision is not None:
		store.assign_forwarder(doc.doctype, doc.name, decision.submitted_by, decision.assigned_to)


def acknowledge(mail) -> None:
	"""Helpdesk's acknowledgement of a new ticket, when the engine's limits allow it (the inbox's
	window, per-ticket cap, age cut-off, never-answer list, machine mail, flood guard)."""
	from . import auto_reply
	from .lookup import FrappeLookup

	decision = mail.decision
	reference = _reference(decision.conversation)
	if not reference or reference[0] != HD_TICKET or not acknowledgement_in_use(HD_TICKET):
		return
	account = mail.email_account
	now = auto_reply.site_now()
	policy = dataclasses.replace(settings.auto_reply_policy(account), enabled=True)
	verdict = should_auto_reply(mail.parsed, decision, FrappeLookup(), now, policy, settings.flood_guard(),
								fetched_at=now)
	if not verdict.send:
		auto_reply._not_sent(decision.conversation, mail.parsed.from_addr, account, reference,
							 f"Helpdesk's acknowledgement held back: {verdict.reason}")
	else:
		frappe.get_doc(*reference).send_acknowledgement_email()
		auto_reply._record(decision.conversation, mail.parsed.from_addr, account, None, True,
						   f"Helpdesk's acknowledgement: {verdict.reason}")
		timeline.add_audit_row(*reference, timeline.escape(
			f"Helpdesk's acknowledgement sent to {mail.parsed.from_addr}: {verdict.reason}"))
	frappe.db.commit()  # nosemgrep: after the mail's own commit (after_commit); the next mail starts clean


def _reference(conversation: str | None) -> tuple[str, str] | None:
	if not conversation:
		return None
	row = frappe.db.get_value(store.CONVERSATION, conversation, ["reference_doctype", "reference_name"])
	return tuple(row) if row and all(row) else None


# -- the status the engine chose ------------------------------------------------------------


def _expected() -> dict:
	if getattr(frappe.local, "pt_expected_status", None) is None:
		frappe.local.pt_expected_status = {}
	return frappe.local.pt_expected_status


def expect_status(parent, status: str | None) -> None:
	"""The received mail about to be stored leaves ``parent`` in ``status`` (the engine's
	transition): Helpdesk's save on receipt sets that, not "Open"."""
	if parent.doctype == HD_TICKET:
		_expected()[str(parent.name)] = {"status": status or parent.get("status")}


def hold_for_automated(doc, method=None) -> None:
	"""Communication before_insert: the inbox's own automatic reply on an HD Ticket answers
	nobody: Helpdesk's save for it keeps the status and the first response time."""
	if doc.reference_doctype == HD_TICKET and doc.reference_name and doc.communication_type == "Automated Message":
		_expected()[str(doc.reference_name)] = {
			"status": frappe.db.get_value(HD_TICKET, doc.reference_name, "status"), "first_response": True}


def keep_engine_status(doc, method=None) -> None:
	"""HD Ticket before_validate: the save Helpdesk makes for a received mail keeps the status
	the engine chose (auto-resume, gratitude, reopen rules; machine mail changes nothing)."""
	expected = _expected().pop(str(doc.name), None)
	if not expected:
		return
	if expected.get("status"):
		doc.status = expected["status"]
	if expected.get("first_response"):
		before = doc.get_doc_before_save()
		doc.first_responded_on = before.first_responded_on if before else None


# -- what agents read ---------------------------------------------------------------------


#: The sentences that name the routing target: a team on HD Ticket.
_TEAM_SENTENCES = {
	"prefix": "Opened in team {project}: the subject starts with its prefix",
	"single_scope": "Opened in team {project}: the only team of this inbox",
	"default_project": "Opened in team {project}: the inbox's default landing team",
}


def sentence(decision: dict, doctype: str) -> str:
	"""The decision in words, for an HD Ticket (teams, not projects)."""
	template, params = explanations.sentence(decision, _(doctype))
	if doctype == HD_TICKET and decision.get("rule") in _TEAM_SENTENCES:
		template = _TEAM_SENTENCES[decision["rule"]]
	return _(template).format(**params)


def log_activity(doc, method=None) -> None:
	"""PT Conversation Message after_insert: a received mail's routing, in words, in the
	ticket's activity (what Helpdesk's agent UI shows beside the mails)."""
	if doc.direction != "Inbound" or doc.rule in ("backfill", None) or not installed():
		return
	reference = _reference(doc.conversation)
	if not reference or reference[0] != HD_TICKET:
		return
	decision = frappe.parse_json(doc.decision or "{}") or {"action": doc.action, "rule": doc.rule}
	text = _("Email routing: {0}").format(sentence(decision, HD_TICKET))
	frappe.get_doc({"doctype": ACTIVITY, "ticket": reference[1], "action": text[:140]}).insert(ignore_permissions=True)


# -- notes written in Helpdesk's agent UI --------------------------------------------------------


def note(doc, method=None) -> None:
	"""HD Ticket Comment after_insert: a note written in Helpdesk's agent UI reaches the ticket's
	followers by mail, as a note written in the desk does on Issue (notifications.desk_note).
	Not a copy of someone else's note: Helpdesk's merge inserts the source ticket's notes anew."""
	if not doc.reference_ticket or not settings.enabled():
		return
	if doc.commented_by and doc.commented_by != frappe.session.user:
		return
	ticket = str(doc.reference_ticket)
	conversation = store.conversation_of(HD_TICKET, ticket)
	if conversation:
		author = (frappe.db.get_value("User", doc.commented_by or doc.owner, "email") or "").lower()
		notifications.notify_followers(conversation, (HD_TICKET, ticket), "Internal note", author, doc.content or "")


# -- privacy in Helpdesk's own endpoints --------------------------------------------------------


@frappe.whitelist()
def get_one(name, is_customer_portal=False):
	"""Helpdesk's ticket endpoint (agent UI and customer portal), without private mail for
	anyone but desk users; desk users see it marked ``pt_private``."""
	ticket = frappe.get_attr(GET_ONE)(name, is_customer_portal=is_customer_portal)
	communications = ticket.get("communications") or []
	private = privacy.private_communications([c.get("name") for c in communications])
	if privacy.is_desk_user():
		for communication in communications:
			communication["pt_private"] = int(communication.get("name") in private)
	else:
		ticket["communications"] = [c for c in communications if c.get("name") not in private]
		if private and ticket.get("_comments"):  # the ticket's cache of its latest messages
			ticket["_comments"] = json.dumps([c for c in json.loads(ticket["_comments"]) if c.get("name") not in private])
	return ticket

