"""The shared Lookup contract against FrappeLookup (pytest runs it against SQLite)."""

from __future__ import annotations

import frappe
from frappe.tests.utils import FrappeTestCase

from persona_threading.frappe_adapter import followers, store
from persona_threading.frappe_adapter.lookup import FrappeLookup
from persona_threading.engine import decision as act
from persona_threading.engine.decision import Decision
from persona_threading.engine.message import parse_message
from persona_threading.frappe_adapter.lookup import _site_time
from persona_threading.lookup_contract import (check_count_contract, check_lookup_contract,
											   check_participants_contract, check_trust_contract)

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

	# CountSeeder (flood guard, automatic-reply windows)
	def opened_conversation(self, sender, at):
		name = store.create_conversation("contract", None, None, opened_by=sender)
		frappe.db.set_value(store.CONVERSATION, name, "creation", _site_time(at), update_modified=False)
		return name

	def automatic_mail(self, recipient, conversation, at):
		doc = frappe.get_doc({"doctype": "PT Automatic Mail", "conversation": conversation, "recipient": recipient,
							  "sent": 1, "reason": "contract"}).insert(ignore_permissions=True)
		frappe.db.set_value("PT Automatic Mail", doc.name, "creation", _site_time(at), update_modified=False)


class FrappeTrustSeeder(FrappeSeeder):
	def participant(self, conversation, email, role, active=True):
		followers.add_follower(conversation, email, role)
		frappe.db.set_value(followers.FOLLOWER, {"conversation": conversation, "email": email}, "active", int(active))

	def project(self, prefix, accepts_inbound=True):
		name = super().project(prefix)
		frappe.db.set_value("Project", name, "pt_accepts_inbound", int(accepts_inbound))
		return name

	def stored_mail(self, raw, conversation):
		message = parse_message(raw)
		action = act.THREADED if conversation else act.QUEUED
		store._insert_message(message, Decision(message.message_id, action, "seed", "", conversation=conversation),
							  None, "Inbound")


class FrappeParticipantSeeder(FrappeTrustSeeder):
	def light_agent(self, email):
		agent(email)  # an agent (Support Team) who is also a light agent: light wins
		frappe.get_doc("User", email).add_roles("PT Light Agent")


class TestLookupContract(FrappeTestCase):
	def test_frappe_lookup_honours_the_lookup_contract(self):
		check_lookup_contract(FrappeSeeder(), FrappeLookup())

	def test_frappe_lookup_honours_the_count_contract(self):
		check_count_contract(FrappeSeeder(), FrappeLookup())

	def test_frappe_lookup_honours_the_trust_contract(self):
		check_trust_contract(FrappeTrustSeeder(), FrappeLookup())

	def test_frappe_lookup_honours_the_participants_contract(self):
		check_participants_contract(FrappeParticipantSeeder(), FrappeLookup())
