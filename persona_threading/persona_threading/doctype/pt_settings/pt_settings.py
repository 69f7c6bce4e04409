# Copyright (c) 2026, persona_threading developers
# License: MIT

from frappe.model.document import Document


class PTSettings(Document):
	"""How persona_threading threads and routes email (admins only, by DocType permissions)."""
