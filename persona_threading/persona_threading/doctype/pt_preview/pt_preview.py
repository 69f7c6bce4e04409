# Copyright (c) 2026, persona_threading developers
# License: MIT

import frappe
from frappe.model.document import Document


class PTPreview(Document):
	"""One replay of the site's mail history (frappe_adapter/preview.py does the work)."""

	@frappe.whitelist()
	def start(self):
		from persona_threading.frappe_adapter import preview

		preview.start(self)

	@frappe.whitelist()
	def cancel_run(self):
		from persona_threading.frappe_adapter import preview

		preview.cancel(self)
