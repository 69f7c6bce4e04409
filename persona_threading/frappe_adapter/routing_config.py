"""Validation of the routing configuration admins edit in the desk (and over REST)."""

from __future__ import annotations

import frappe
from frappe import _

from ..engine.rules.prefix import VALID_PREFIX


class DefaultProjectError(frappe.ValidationError):
	"""A default landing project that is not one of the inbox's eligible scopes (HTTP 400)."""

	http_status_code = 400


class PrefixError(frappe.ValidationError):
	http_status_code = 400


def validate_project_prefix(doc, method=None):
	"""Project validate: the inbound prefix is [A-Za-z][A-Za-z0-9]+ and unique (any case)."""
	prefix = (doc.get("pt_inbound_prefix") or "").strip().lstrip("#")
	if not prefix:
		doc.pt_inbound_prefix = None
		return
	if not VALID_PREFIX.fullmatch(prefix):
		frappe.throw(
			_("Inbound prefix {0} must start with a letter and contain only letters and digits").format(prefix),
			PrefixError,
		)
	Project = frappe.qb.DocType("Project")
	clash = (
		frappe.qb.from_(Project)
		.select(Project.name)
		.where((Project.pt_inbound_prefix == prefix) & (Project.name != (doc.name or "")))
		.run()
	)
	if clash:
		frappe.throw(_("Inbound prefix {0} is already used by project {1}").format(prefix, clash[0][0]), PrefixError)
	doc.pt_inbound_prefix = prefix


def eligible_scopes(doc) -> list[str]:
	return [row.project for row in doc.get("pt_project_scopes") or [] if row.approved and row.receive_enabled]


def check_default_landing_project(doc) -> None:
	"""Who may change the default landing project, and to what; runs before Frappe's link check.

	Frappe validates links before any validate hook, so a project that does not exist would
	answer 417 (LinkValidationError) instead of this clear 400: PTEmailAccount calls this
	from ``_validate_links``. Setting *or clearing* it is a System Manager's decision (403).
	"""
	default = doc.get("pt_default_project")
	changed = bool(default) if doc.is_new() else doc.has_value_changed("pt_default_project")
	if not changed:
		return
	if "System Manager" not in frappe.get_roles():
		raise frappe.PermissionError(_("Only System Managers may set or clear the default landing project"))
	if default and default not in eligible_scopes(doc):
		frappe.throw(
			_("Default landing project {0} must be one of this inbox's approved, receive-enabled project scopes: {1}").format(
				default, ", ".join(eligible_scopes(doc)) or _("none")
			),
			DefaultProjectError,
		)


def validate_email_account_routing(doc, method=None):
	"""Email Account validate: a default whose scope was removed or disabled is cleared.

	The inbox then falls back to the manual queue instead of blocking the save.
	"""
	default = doc.get("pt_default_project")
	if not default or default in eligible_scopes(doc):
		return
	doc.pt_default_project = None
	frappe.msgprint(
		_("Default landing project {0} was cleared: its scope was removed or disabled. New mail without a route waits in the manual queue.").format(default),
		alert=True,
	)
