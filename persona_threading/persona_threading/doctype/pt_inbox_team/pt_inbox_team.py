# Copyright (c) 2026, persona_threading developers
# License: MIT

from frappe.model.document import Document


class PTInboxTeam(Document):
	"""An HD Team an Email Account serves (Frappe Helpdesk); eligible when approved and receive-enabled."""

	pass
