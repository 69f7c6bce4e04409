# Copyright (c) 2026, persona_threading developers
# License: MIT

from frappe.model.document import Document


class PTConversation(Document):
	"""One email thread, attached to its parent document (an Issue by default)."""

	pass
