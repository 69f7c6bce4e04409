"""Validation of the routing configuration admins edit in the desk (and over REST)."""

from __future__ import annotations

import frappe
from frappe import _

from ..engine.rules.prefix import VALID_PREFIX
from .conversations import HD_TEAM, PROJECT


class DefaultProjectError(frappe.ValidationError):
	"""A default landing project that is not one of the inbox's eligible scopes (HTTP 400)."""

	http_status_code = 400


class PrefixError(frappe.ValidationError):
	http_status_code = 400


def validate_project_prefix(doc, method=None):
	"""Project (and HD Team) validate: the inbound prefix is [A-Za-z][A-Za-z0-9]+ and unique
	among its DocType's (any case)."""
	prefix = (doc.get("pt_inbound_prefix") or "").strip().lstrip("#")
	if not prefix:
		doc.pt_inbound_prefix = None
		return
	if not VALID_PREFIX.fullmatch(prefix):
		frappe.throw(
			_("Inbound prefix {0} must start with a letter and contain only letters and digits").format(prefix),
			PrefixError,
		)
	Table = frappe.qb.DocType(doc.doctype)
	clash = (
		frappe.qb.from_(Table)
		.select(Table.name)
		.where((Table.pt_inbound_prefix == prefix) & (Table.name != (doc.name or "")))
		.run()
	)
	if clash:
		frappe.throw(_("Inbound prefix {0} is already used by {1} {2}").format(prefix, _(doc.doctype), clash[0][0]),
					 PrefixError)
	doc.pt_inbound_prefix = prefix


def eligible_scopes(doc, target=PROJECT) -> list[str]:
	return [row.get(target.scope_field) for row in doc.get(target.scopes_field) or [] if row.approved and row.receive_enabled]


def _targets(doc):
	"""The routing target kinds an Email Account has fields for: projects, and HD Teams where
	Frappe Helpdesk is installed (same rules for both)."""
	return [target for target in (PROJECT, HD_TEAM) if target is PROJECT or doc.meta.has_field(target.default_field)]


def _kind(target) -> str:
	return _("project") if target is PROJECT else _("team")


def check_default_landing_project(doc) -> None:
	"""Who may change the default landing project (or team), and to what; runs before Frappe's
	link check.

	Frappe validates links before any validate hook, so a project that does not exist would
	answer 417 (LinkValidationError) instead of this clear 400: PTEmailAccount calls this
	from ``_validate_links``. Setting *or clearing* it is a System Manager's decision (403).
	"""
	for target in _targets(doc):
		default = doc.get(target.default_field)
		changed = bool(default) if doc.is_new() else doc.has_value_changed(target.default_field)
		if not changed:
			continue
		if "System Manager" not in frappe.get_roles():
			raise frappe.PermissionError(
				_("Only System Managers may set or clear the default landing {0}").format(_kind(target)))
		if default and default not in eligible_scopes(doc, target):
			frappe.throw(
				_("Default landing {0} {1} must be one of this inbox's approved, receive-enabled {0} scopes: {2}").format(
					_kind(target), default, ", ".join(eligible_scopes(doc, target)) or _("none")
				),
				DefaultProjectError,
			)


def validate_email_account_routing(doc, method=None):
	"""Email Account validate: a default whose scope was removed or disabled is cleared.

	The inbox then falls back to the manual queue instead of blocking the save.
	"""
	for target in _targets(doc):
		default = doc.get(target.default_field)
		if not default or default in eligible_scopes(doc, target):
			continue
		doc.set(target.default_field, None)
		frappe.msgprint(
			_("Default landing {0} {1} was cleared: its scope was removed or disabled. New mail without a route waits in the manual queue.").format(
				_kind(target), default),
			alert=True,
		)
