"""The shared Lookup contract against FrappeLookup (pytest runs it against SQLite)."""

from __future__ import annotations

import frappe
from frappe.tests.utils import FrappeTestCase

from persona_threading.frappe_adapter import store
from persona_threading.frappe_adapter.lookup import FrappeLookup
from persona_threading.lookup_contract import check_lookup_contract

from .helpers import agent, ensure_company


class FrappeSeeder:
	def conversation(self, key):
		return store.create_conversation("contract", None, None, key=key)

	def message(self, message_id, conversation):
		frappe.get_doc({"doctype": store.MESSAGE, "conversation": conversation, "message_id": message_id,
						"direction": "Inbound", "action": "seed", "rule": "seed", "evidence": "",
						"decision": "{}"}).insert(ignore_permissions=True)

	def thread_root(self, root, conversation):
		frappe.db.set_value(store.CONVERSATION, conversation, "thread_root", root)

	def project(self, prefix):
		return frappe.get_doc({"doctype": "Project", "project_name": f"Contract {prefix}", "company": ensure_company(),
							   "pt_inbound_prefix": prefix}).insert(ignore_permissions=True).name

	def inbox(self, address, scopes, default_project):
		frappe.get_doc({
			"doctype": "Email Account", "email_account_name": address, "email_id": address,
			"password": "x", "enable_incoming": 0, "enable_outgoing": 0,
			"pt_project_scopes": [{"project": p, "approved": 1, "receive_enabled": int(ok)} for p, ok in scopes],
			"pt_default_project": default_project,
		}).insert(ignore_permissions=True)

	def user(self, email, active):
		agent(email, enabled=active)


class TestLookupContract(FrappeTestCase):
	def test_frappe_lookup_honours_the_lookup_contract(self):
		check_lookup_contract(FrappeSeeder(), FrappeLookup())
