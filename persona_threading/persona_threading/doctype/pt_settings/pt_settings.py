# Copyright (c) 2026, persona_threading developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document

STATUS_FIELDS = ("awaiting_input_statuses", "in_progress_status", "resolved_statuses", "closed_statuses")


class PTSettings(Document):
	"""How persona_threading threads and routes email (admins only, by DocType permissions)."""

	def validate(self):
		self.validate_statuses()

	def validate_statuses(self):
		"""Each status named must be one the conversation DocType has (a typo would silently
		never match, and customers' replies would change nothing)."""
		from persona_threading.frappe_adapter.settings import conversation_doctype

		doctype = conversation_doctype()
		field = frappe.get_meta(doctype).get_field("status")
		if not field or field.fieldtype != "Select":
			return
		known = [s for s in (field.options or "").split("\n") if s]
		for fieldname in STATUS_FIELDS:
			for status in (line.strip() for line in (self.get(fieldname) or "").splitlines()):
				if status and status not in known:
					frappe.throw(_("{0}: {1} is not a status of {2} (its statuses: {3})").format(
						_(self.meta.get_label(fieldname)), status, _(doctype), ", ".join(known)))
