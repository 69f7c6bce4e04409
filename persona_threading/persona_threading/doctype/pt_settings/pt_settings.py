# Copyright (c) 2026, persona_threading developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document


class PTSettings(Document):
	"""How persona_threading threads and routes email (admins only, by DocType permissions)."""

	def validate(self):
		if self.conversation_doctype and frappe.get_meta(self.conversation_doctype).issingle:
			frappe.throw(_("Conversations must attach to a regular (non-single) DocType"))
