# Copyright (c) 2026, persona_threading developers
# License: MIT

from frappe.model.document import Document


class PTInboundJournal(Document):
	"""A fetched mail not yet stored: written before processing, deleted in the transaction
	that stores it (frappe_adapter/journal.py). What stays here failed or was interrupted."""
