# Copyright (c) 2026, persona_threading developers
# License: MIT

from frappe.model.document import Document


class PTPreviewDisagreement(Document):
	"""One mail the engine would have put elsewhere than stock did, with the engine's why."""
