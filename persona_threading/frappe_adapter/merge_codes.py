"""The merge-code Resolver for Frappe: field values along Link fields, with permissions.

The renderer (engine/merge_codes.py) asks only which fields exist, which are Links, and
their values. Password fields never render. ``user``: render as that user, so a code
naming a document they may not read stays unknown (snippets); None renders as the system
(an inbox's automatic reply, written by an admin).
"""

from __future__ import annotations

import frappe

_NEVER_RENDERED = frozenset({"Password"})


class FrappeResolver:
	def __init__(self, user: str | None = None):
		self.user = user

	def _field(self, doctype: str, field: str):
		try:
			return frappe.get_meta(doctype).get_field(field)
		except frappe.DoesNotExistError:
			return None

	def has_field(self, doctype: str, field: str) -> bool:
		if field == "name":
			return True
		df = self._field(doctype, field)
		return bool(df) and df.fieldtype not in _NEVER_RENDERED

	def link_doctype(self, doctype: str, field: str) -> str | None:
		df = self._field(doctype, field)
		return df.options if df and df.fieldtype == "Link" else None

	def value(self, doctype: str, name: str, field: str):
		if not name or not self.has_field(doctype, field):
			return None
		if self.user and not self._may_read(doctype, name, field):
			return None
		return frappe.get_cached_value(doctype, name, field)

	def _may_read(self, doctype: str, name: str, field: str) -> bool:
		"""The user reads the document, or the field is its title: what a Link already shows
		them (the Issue form shows its customer's name to an agent who may not open Customer)."""
		if field in ("name", frappe.get_meta(doctype).title_field):
			return True
		return frappe.has_permission(doctype, "read", doc=name, user=self.user)
