# Copyright (c) 2026, persona_threading developers
# License: MIT

from frappe.model.document import Document


class PTInboundQueue(Document):
	"""Mail that no rule could route, waiting for a reviewer. Never deleted by the app."""

	pass
