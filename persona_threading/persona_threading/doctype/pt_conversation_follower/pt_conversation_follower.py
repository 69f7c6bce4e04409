# Copyright (c) 2026, persona_threading developers
# License: MIT

from frappe.model.document import Document


class PTConversationFollower(Document):
	"""Someone ever involved in a conversation (requester, CC or follower)."""

	pass
