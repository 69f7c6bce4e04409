"""Before the unique index on PT Conversation Follower (conversation, email): keep the
oldest row of each address in a conversation, drop the rest (two workers could add one
person twice before the index existed)."""

import frappe


def execute():
	if not frappe.db.table_exists("PT Conversation Follower"):
		return
	duplicates = frappe.db.sql(
		"""select f.name from `tabPT Conversation Follower` f
		join `tabPT Conversation Follower` older on older.conversation = f.conversation and older.email = f.email
			and (older.creation < f.creation or (older.creation = f.creation and older.name < f.name))""",
		pluck=True,
	)
	if duplicates:
		frappe.db.delete("PT Conversation Follower", {"name": ["in", duplicates]})
