# Copyright (c) 2026, persona_threading developers
# License: MIT

import frappe
from frappe.model.document import Document


class PTConversationFollower(Document):
	"""Someone ever involved in a conversation (requester, CC or follower)."""


def on_doctype_update():
	"""One row per address per conversation, also when two workers add the same person."""
	frappe.db.add_unique("PT Conversation Follower", ["conversation", "email"],
						 constraint_name="unique_conversation_email")
