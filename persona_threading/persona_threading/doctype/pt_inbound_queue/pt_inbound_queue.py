# Copyright (c) 2026, persona_threading developers
# License: MIT

from frappe.model.document import Document


class PTInboundQueue(Document):
	"""Mail that opened nothing and attached nowhere: Open waits for a reviewer, Suspended is
	machine mail (cleared by a daily job after PT Settings' days). Resolved rows are kept."""

	pass
