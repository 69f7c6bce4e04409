# Copyright (c) 2026, persona_threading developers
# License: MIT

from frappe.model.document import Document


class PTConversationMessage(Document):
	"""One email of a conversation and the routing decision that put it there."""

	pass
