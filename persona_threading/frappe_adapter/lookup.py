"""FrappeLookup: the engine's Lookup protocol on Frappe tables.

Every method is an equality lookup on an indexed column (unique or search_index fields of
the PT DocTypes, Project.pt_inbound_prefix, Email Account.email_id, User.name), so routing
cost does not grow with the number of Communications.
"""

from __future__ import annotations

from typing import Sequence

import frappe
from frappe.query_builder import Order

from ..engine.lookup import Inbox, Project, StoredMessage


class FrappeLookup:
	def conversation_by_key(self, key: str) -> str | None:
		Conversation = frappe.qb.DocType("PT Conversation")
		rows = frappe.qb.from_(Conversation).select(Conversation.name).where(Conversation.key == key).run()
		return rows[0][0] if rows else None

	def messages_by_ids(self, message_ids: Sequence[str]) -> list[StoredMessage]:
		ids = list(dict.fromkeys(message_ids))
		if not ids:
			return []
		Message = frappe.qb.DocType("PT Conversation Message")
		rows = (
			frappe.qb.from_(Message)
			.select(Message.message_id, Message.conversation)
			.where(Message.message_id.isin(ids))
			.orderby(Message.creation, order=Order.desc)
			.run()
		)
		return [StoredMessage(mid, conv or None, len(rows) - i) for i, (mid, conv) in enumerate(rows)]

	def conversation_by_thread_root(self, root: str) -> str | None:
		Conversation = frappe.qb.DocType("PT Conversation")
		rows = frappe.qb.from_(Conversation).select(Conversation.name).where(Conversation.thread_root == root).run()
		if rows:
			return rows[0][0]
		Message = frappe.qb.DocType("PT Conversation Message")
		rows = (
			frappe.qb.from_(Message)
			.select(Message.conversation)
			.where((Message.thread_root == root) & Message.conversation.isnotnull())
			.limit(1)
			.run()
		)
		return rows[0][0] if rows else None

	def project_by_prefix(self, prefix: str) -> Project | None:
		ProjectTable = frappe.qb.DocType("Project")
		rows = (
			frappe.qb.from_(ProjectTable)
			.select(ProjectTable.name, ProjectTable.pt_inbound_prefix, ProjectTable.project_name)
			.where(ProjectTable.pt_inbound_prefix == prefix)
			.run()
		)
		return Project(rows[0][0], rows[0][1], rows[0][2] or "") if rows else None

	def inbox(self, address: str) -> Inbox | None:
		Account = frappe.qb.DocType("Email Account")
		rows = (
			frappe.qb.from_(Account)
			.select(Account.name, Account.email_id, Account.pt_default_project)
			.where(Account.email_id == address)
			.run()
		)
		if not rows:
			return None
		name, email_id, default_project = rows[0]
		Scope = frappe.qb.DocType("PT Inbox Scope")
		scopes = (
			frappe.qb.from_(Scope)
			.select(Scope.project, Scope.approved, Scope.receive_enabled)
			.where((Scope.parent == name) & (Scope.parenttype == "Email Account"))
			.orderby(Scope.idx)
			.run()
		)
		eligible = tuple(p for p, approved, receiving in scopes if approved and receiving)
		return Inbox(email_id, eligible, default_project or None, has_scopes=bool(scopes))

	def is_active_user(self, address: str) -> bool:
		User = frappe.qb.DocType("User")
		rows = (
			frappe.qb.from_(User)
			.select(User.name)
			.where((User.name == address) & (User.enabled == 1) & (User.user_type == "System User"))
			.run()
		)
		return bool(rows)
