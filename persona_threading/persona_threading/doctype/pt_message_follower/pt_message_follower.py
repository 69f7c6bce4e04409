# Copyright (c) 2026, persona_threading developers
# License: MIT

from frappe.model.document import Document


class PTMessageFollower(Document):
	"""An address that was on one message (From, To or Cc)."""

	pass
