"""Remove settings that did nothing: PT Settings "Conversations attach to" and PT Conversation status.

The app is built for ERPNext's Issue (form script, hooks, timeline), and a conversation's
state is its Issue's status; both fields were stored but never read.
"""

import frappe


def execute():
	frappe.db.delete("Singles", {"doctype": "PT Settings", "field": "conversation_doctype"})
	frappe.db.sql_ddl("alter table `tabPT Conversation` drop column if exists `status`")
	frappe.clear_cache(doctype="PT Conversation")  # the cached column list still has it
