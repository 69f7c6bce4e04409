"""Backfill: conversations for documents and Communications that predate the app."""

from __future__ import annotations

import frappe

from . import settings, store


def backfill_document(doctype: str, name: str) -> int:
	"""Attach a document's email Communications to its conversation; returns how many were new."""
	communications = frappe.get_all(
		"Communication",
		filters={"reference_doctype": doctype, "reference_name": name, "communication_medium": "Email"},
		fields=["name", "message_id", "sent_or_received", "sender", "subject"],
		order_by="creation asc",
	)
	if not communications:
		return 0
	conversation = store.ensure_conversation(doctype, name, communications[0].subject)
	return sum(store.record_imported(conversation, c) for c in communications)


def backfill_all(batch_size: int = 500, progress=None) -> dict:
	"""Every document of the conversation DocType, oldest first, committing every batch."""
	doctype = settings.conversation_doctype()
	names = frappe.get_all(doctype, pluck="name", order_by="creation asc")
	done = {"documents": 0, "messages": 0}

	def run(items):
		for index, name in enumerate(items, 1):
			added = backfill_document(doctype, name)
			done["documents"] += 1 if added else 0
			done["messages"] += added
			if index % batch_size == 0:
				frappe.db.commit()  # nosemgrep: long backfills commit per batch

	if progress is None:
		run(names)
	else:
		with progress(names, label=f"Backfilling {doctype}") as bar:
			run(bar)
	frappe.db.commit()  # nosemgrep
	return done
