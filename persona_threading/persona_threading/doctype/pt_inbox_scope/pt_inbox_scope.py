# Copyright (c) 2026, persona_threading developers
# License: MIT

from frappe.model.document import Document


class PTInboxScope(Document):
	"""A project an Email Account serves; eligible when approved and receive-enabled."""

	pass
