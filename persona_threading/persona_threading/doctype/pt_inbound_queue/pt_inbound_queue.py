# Copyright (c) 2026, persona_threading developers
# License: MIT

from frappe.model.document import Document


class PTInboundQueue(Document):
	"""Mail that opened nothing and attached nowhere: Open waits for a reviewer, Suspended is
	machine mail (cleared by a daily job after PT Settings' days). Resolved rows are kept."""

	def onload(self):
		"""The form shows why the mail waits in the reviewer's language (stored as a phrase;
		nothing on the form is saved: the reviewer's actions set the status)."""
		from persona_threading.frappe_adapter import phrases

		self.evidence = phrases.shown(self.evidence)
