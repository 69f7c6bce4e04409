# Copyright (c) 2026, persona_threading developers
# License: MIT

from frappe.model.document import Document


class PTAutomaticMail(Document):
	"""One automatic reply, sent or held back, with the reason (the audit the limits count)."""

