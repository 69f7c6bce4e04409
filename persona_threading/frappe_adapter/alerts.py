"""What the System Managers must act on, told where they look: the bell (Notification Log),
and mail where they chose it. One way for every such notice of the app."""

from __future__ import annotations

import frappe


def tell_system_managers(subject: str, message: str, document_type: str, document_name: str) -> None:
	"""A notification for each enabled System Manager, once while an unread one about the same
	document with the same subject is there (install and every migrate may say the same again;
	two parked mails failing alike are two notices)."""
	subject = subject[:140]
	for user in _system_managers():
		if not frappe.db.exists("Notification Log", {"for_user": user, "subject": subject, "read": 0,
													  "document_type": document_type, "document_name": document_name}):
			frappe.get_doc({"doctype": "Notification Log", "for_user": user, "type": "Alert",
							"document_type": document_type, "document_name": document_name, "subject": subject,
							"email_content": message}).insert(ignore_permissions=True)


def _system_managers() -> list[str]:
	HasRole, User = frappe.qb.DocType("Has Role"), frappe.qb.DocType("User")
	return (frappe.qb.from_(HasRole).join(User).on(User.name == HasRole.parent).select(HasRole.parent).distinct()
			.where((HasRole.role == "System Manager") & (HasRole.parenttype == "User") & (User.enabled == 1)
				   & (User.user_type == "System User")).run(pluck=True))
