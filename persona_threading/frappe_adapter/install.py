"""Install / uninstall: secret, custom fields on ERPNext and Frappe DocTypes."""

from __future__ import annotations

import frappe
from frappe.custom.doctype.custom_field.custom_field import create_custom_fields

from . import settings

CUSTOM_FIELDS = {
	"Project": [
		{
			"fieldname": "pt_inbound_prefix",
			"fieldtype": "Data",
			"label": "Inbound email prefix",
			"unique": 1,
			"insert_after": "project_name",
			"description": "Mail whose subject starts with #PREFIX lands on an Issue of this project.",
		},
		{
			"fieldname": "pt_accepts_inbound",
			"fieldtype": "Check",
			"label": "Accepts inbound email",
			"default": "1",
			"insert_after": "pt_inbound_prefix",
			"description": "Off: a #PREFIX reaches this project only through an inbox that has it as a scope.",
		},
		{
			"fieldname": "pt_status_section",
			"fieldtype": "Section Break",
			"label": "Inbound status mapping (persona_threading)",
			"insert_after": "pt_accepts_inbound",
			"collapsible": 1,
			"description": "Leave empty to use PT Settings. Statuses one per line.",
		},
		{"fieldname": "pt_awaiting_input_statuses", "fieldtype": "Small Text", "label": "Awaiting customer input",
		 "insert_after": "pt_status_section"},
		{"fieldname": "pt_in_progress_status", "fieldtype": "Data", "label": "In progress",
		 "insert_after": "pt_awaiting_input_statuses"},
		{"fieldname": "pt_resolved_statuses", "fieldtype": "Small Text", "label": "Resolved",
		 "insert_after": "pt_in_progress_status"},
		{"fieldname": "pt_closed_statuses", "fieldtype": "Small Text", "label": "Closed",
		 "insert_after": "pt_resolved_statuses"},
	],
	"Communication": [
		# The received mail's header block (capped): what routing read, kept for the preview
		# of a change (replaying history needs References, Thread-Index, Auto-Submitted...).
		# Stored exactly as received: Frappe's XSS filter would store "<maria@acme.test>" as
		# "&lt;maria@acme.test&gt;" (it is never shown as HTML: hidden, and read as text only).
		{"fieldname": "pt_headers", "fieldtype": "Long Text", "label": "Mail headers (persona_threading)",
		 "insert_after": "message_id", "hidden": 1, "read_only": 1, "no_copy": 1, "print_hide": 1,
		 "ignore_xss_filter": 1},
	],
	"Notification": [
		# Automated mail on a conversation reaches its customers as an admin chooses (automated_mail.py).
		{"fieldname": "pt_conversation_recipients", "fieldtype": "Select", "label": "Email the conversation's",
		 "options": "\nRequester\nRequester and CCs", "insert_after": "send_to_all_assignees",
		 "depends_on": "eval:doc.channel == 'Email' && doc.document_type == 'Issue'",
		 "description": "Besides the recipients below: the Issue's requester, or the requester with the active CCs "
						"in Cc (never inactive CCs, followers or third parties; the CC blocklist holds)."},
	],
	"Email Account": [
		# Beside stock's own auto-reply switch and message, which this app honours and renders
		# with merge codes ({{ issue.customer.customer_name }}) on conversation inboxes.
		{"fieldname": "pt_auto_reply_max_age_hours", "fieldtype": "Float", "precision": "1", "label": "No auto-reply to mail older than (hours)",
		 "insert_after": "auto_reply_message", "depends_on": "enable_auto_reply", "default": "0",
		 "description": "By its Date header (the fetch time when missing or in the future). 0: no limit. "
						"For first syncs and recovery after an outage."},
		{"fieldname": "pt_auto_reply_window_minutes", "fieldtype": "Int", "label": "At most one auto-reply per address per (minutes)",
		 "insert_after": "pt_auto_reply_max_age_hours", "depends_on": "enable_auto_reply", "default": "60",
		 "description": "Ends mail loops with autoresponders that strip every header."},
		{"fieldname": "pt_auto_reply_per_conversation_per_day", "fieldtype": "Int",
		 "label": "At most this many auto-replies per ticket a day", "insert_after": "pt_auto_reply_window_minutes",
		 "depends_on": "enable_auto_reply", "default": "5"},
		{
			"fieldname": "pt_routing_section",
			"fieldtype": "Section Break",
			"label": "Project routing",
			# After the last field of stock's incoming section, so it holds only its own fields.
			"insert_after": "send_notification_to",
			"description": "Which projects mail to this inbox may open tickets in. One eligible project: every new "
						   "mail goes there. Several: a #PREFIX at the start of the subject picks one, else the default "
						   "landing project, else the mail waits in the inbound queue. None: new mail opens a ticket "
						   "without a project.",
		},
		{
			"fieldname": "pt_project_scopes",
			"fieldtype": "Table",
			"label": "Project scopes",
			"options": "PT Inbox Scope",
			"insert_after": "pt_routing_section",
			"description": "Empty: this inbox routes into no project (new mail opens a ticket without one). "
						   "Add a row per project, e.g. ACME Support, tick Approved and Receiving.",
		},
		{
			"fieldname": "pt_default_project",
			"fieldtype": "Link",
			"label": "Default landing project",
			"options": "Project",
			"insert_after": "pt_project_scopes",
			"description": "Where new mail lands when this inbox serves several projects and no #PREFIX routes it. "
			"Admins only; must be one of the approved, receive-enabled scopes.",
			"depends_on": "eval:(doc.pt_project_scopes || []).filter(s => s.approved && s.receive_enabled).length > 1",
		},
	],
}


REVIEWER_ROLE = "PT Reviewer"


def after_install():
	after_migrate()
	settings.ensure_secret()


# Two lookups every received mail makes scan the whole history without an index (measured
# with `make bench`: ~3 s a mail at 100k Issues): ERPNext's first-response check reads
# Communication by reference_name alone (not by the (reference_doctype, reference_name)
# index), and stock's timeline links (and the participants' parent record) read Contact Email
# by email_id. Indexed the Frappe way (search_index), so migrations keep them.
HISTORY_INDEXES = (("Communication", "reference_name"), ("Contact Email", "email_id"))


def ensure_history_indexes():
	from frappe.custom.doctype.property_setter.property_setter import make_property_setter

	for doctype, fieldname in HISTORY_INDEXES:
		if frappe.get_meta(doctype).get_field(fieldname).search_index:
			continue
		make_property_setter(doctype, fieldname, "search_index", "1", "Check", validate_fields_for_doctype=False)
		frappe.clear_cache(doctype=doctype)
		frappe.db.updatedb(doctype)


#: Stock fields whose description this app rewrites (removed again on uninstall).
DESCRIBED = (("Email Account", "auto_reply_message"),)


def describe_auto_reply_codes():
	"""The Email Account's auto-reply field says what its template takes (stock's own ProTip,
	and the merge codes)."""
	from frappe.custom.doctype.property_setter.property_setter import make_property_setter

	from .auto_reply import MERGE_CODES_HELP

	doctype, fieldname = DESCRIBED[0]
	if frappe.get_meta(doctype).get_field(fieldname).description == MERGE_CODES_HELP:
		return
	make_property_setter(doctype, fieldname, "description", MERGE_CODES_HELP, "Text", validate_fields_for_doctype=False)
	frappe.clear_cache(doctype=doctype)


def after_migrate():
	create_custom_fields(CUSTOM_FIELDS, update=True)
	ensure_history_indexes()
	describe_auto_reply_codes()
	ensure_reviewer_role()
	ensure_light_agent_role()
	fill_settings_defaults()
	from . import account_class, helpdesk

	helpdesk.install_fields()  # HD Team routing, where Frappe Helpdesk is installed
	account_class.check()  # another app's Email Account class in effect: System Managers are told
	check_auto_reply_templates()  # a template stock took that the app cannot render: they are told too


def check_auto_reply_templates() -> list[str]:
	"""A template saved before (stock renders an unknown name as nothing; the app refuses it)
	would silently stop the inbox's automatic replies, so the System Managers are told, once
	per inbox while unread. Returns the inboxes told about."""
	from frappe.utils import escape_html

	from . import conversations
	from .alerts import tell_system_managers
	from .auto_reply import render_sample
	from .merge_codes import TemplateError

	broken = []
	for name in frappe.get_all("Email Account", filters={"auto_reply_message": ["is", "set"]}, pluck="name",
							   order_by="name asc"):
		account = frappe.get_doc("Email Account", name)
		if not (account.auto_reply_message or "").strip():
			continue
		try:
			render_sample(account)
		except TemplateError as error:
			broken.append(name)
			consequence = (frappe._("No automatic reply is sent from this inbox until the template is fixed.")
						   if account.enable_auto_reply and conversations.appends_to(account) else "")
			tell_system_managers(
				frappe._("The automatic reply of Email Account {0} cannot be rendered").format(name),
				" ".join(filter(None, (escape_html(str(error)), consequence, frappe._(
					"Saving the Email Account is refused until the template renders.")))),
				"Email Account", name)
	return broken


def fill_settings_defaults():
	"""PT Settings fields added after install get their declared defaults.

	A field never saved has no row in Singles, so a loaded doc would show 0/None for it (a
	new switch that is "on by default" would be off on existing sites).
	"""
	Singles = frappe.qb.Table("tabSingles")
	stored = {f for (f,) in frappe.qb.from_(Singles).select(Singles.field).where(Singles.doctype == "PT Settings").run()}
	missing = [f for f in frappe.get_meta("PT Settings").fields
			   if f.default and f.fieldname not in stored and f.fieldtype != "Password"]
	if not missing:
		return
	doc = frappe.get_single("PT Settings")
	for field in missing:
		doc.set(field.fieldname, field.default)
	doc.flags.ignore_permissions = True
	doc.save()


def ensure_reviewer_role():
	"""Reviewers work the manual queue (admins can too, by their own permissions)."""
	from frappe.permissions import add_permission, update_permission_property

	if not frappe.db.exists("Role", REVIEWER_ROLE):
		frappe.get_doc({"doctype": "Role", "role_name": REVIEWER_ROLE, "desk_access": 1}).insert(
			ignore_permissions=True
		)
	if not frappe.db.exists("Custom DocPerm", {"parent": "PT Inbound Queue", "role": REVIEWER_ROLE}):
		add_permission("PT Inbound Queue", REVIEWER_ROLE, 0)
		update_permission_property("PT Inbound Queue", REVIEWER_ROLE, 0, "write", 1)


LIGHT_AGENT_DOCTYPES = ("Issue", "PT Conversation")


def ensure_light_agent_role():
	"""Light agents read conversations and write internal notes; their mail never adds CCs
	and is never public (engine.participants), whatever other roles they have."""
	from frappe.permissions import add_permission

	from .lookup import LIGHT_AGENT_ROLE

	if not frappe.db.exists("Role", LIGHT_AGENT_ROLE):
		frappe.get_doc({"doctype": "Role", "role_name": LIGHT_AGENT_ROLE, "desk_access": 1}).insert(
			ignore_permissions=True
		)
	for doctype in LIGHT_AGENT_DOCTYPES:
		if not frappe.db.exists("Custom DocPerm", {"parent": doctype, "role": LIGHT_AGENT_ROLE}):
			add_permission(doctype, LIGHT_AGENT_ROLE, 0)


def before_uninstall():
	"""Leave a stock site: no custom fields, descriptions, permission rows or scheduled jobs of
	this app (the app's own DocTypes go with its module; mail keeps coming in through stock)."""
	for doctype, fields in CUSTOM_FIELDS.items():
		for field in fields:
			name = frappe.db.get_value("Custom Field", {"dt": doctype, "fieldname": field["fieldname"]})
			if name:
				frappe.delete_doc("Custom Field", name, ignore_permissions=True)
	from .helpdesk import remove_fields

	remove_fields()
	for doctype, fieldname in DESCRIBED:
		frappe.db.delete("Property Setter", {"doc_type": doctype, "field_name": fieldname, "property": "description"})
	from .lookup import LIGHT_AGENT_ROLE

	frappe.db.delete("Custom DocPerm", {"role": ("in", (LIGHT_AGENT_ROLE, REVIEWER_ROLE))})
	own = frappe.get_all("DocType", filters={"module": "Persona Threading"}, pluck="name")
	if own:  # the app's DocTypes go with it; their permission rows would stay behind
		frappe.db.delete("Custom DocPerm", {"parent": ("in", own)})
	drop_copied_permissions("Issue")
	frappe.db.delete("Scheduled Job Type", {"method": ("like", "persona_threading.%")})
	frappe.clear_cache()


def drop_copied_permissions(doctype: str) -> None:
	"""Frappe's add_permission first copies a DocType's standard rows into Custom DocPerm; left
	once the app's own rows are gone, they would pin today's standard permissions (a later
	ERPNext change to them would never apply). Dropped while still identical to the standard."""
	from frappe.permissions import rights

	columns = ("role", "permlevel", "if_owner", *rights)

	def rows(table: str) -> list[tuple]:
		Perm = frappe.qb.DocType(table)
		found = frappe.qb.from_(Perm).select(*(Perm[c] for c in columns)).where(Perm.parent == doctype).run()
		return sorted(tuple(value or 0 for value in row) for row in found)

	custom = rows("Custom DocPerm")
	if custom and custom == rows("DocPerm"):
		frappe.db.delete("Custom DocPerm", {"parent": doctype})
