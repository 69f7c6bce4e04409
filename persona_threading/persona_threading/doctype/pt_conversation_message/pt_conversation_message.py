# Copyright (c) 2026, persona_threading developers
# License: MIT

import frappe
from frappe.model.document import Document


class PTConversationMessage(Document):
	"""One email of a conversation and the routing decision that put it there."""


def on_doctype_update():
	"""One row per mail: a Message-ID may be reused by another mail (other content), never twice."""
	frappe.db.add_unique("PT Conversation Message", ["message_id", "digest"], constraint_name="unique_message_digest")
