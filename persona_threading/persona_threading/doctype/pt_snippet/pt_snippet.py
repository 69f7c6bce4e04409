# Copyright (c) 2026, persona_threading developers
# License: MIT

from frappe.model.document import Document


class PTSnippet(Document):
	"""Pre-written reply text with merge codes, offered in the Issue's email composer (type !)."""
