"""PTInboundMail: Frappe's InboundMail whose reference lookup asks the engine.

Only the two questions stock answers by guessing are replaced: which document a mail
belongs to (``reference_document``) and whether to create one
(``_create_reference_document``). Everything else (attachments, inline images, seen
status, duplicates by Message-ID, Unhandled Email on errors) is stock, via super().
"""

from __future__ import annotations

import frappe
from frappe.email.receive import InboundMail

from ..engine import decision as act
from ..engine.message import parse_message
from ..engine.router import route
from . import settings, store
from .lookup import FrappeLookup


class PTInboundMail(InboundMail):
	@classmethod
	def adopt(cls, mail: InboundMail) -> "PTInboundMail":
		"""Take over a stock InboundMail without parsing the message again."""
		adopted = cls.__new__(cls)
		adopted.__dict__.update(mail.__dict__)
		adopted._decision = None
		adopted._parsed = None
		return adopted

	@property
	def parsed(self):
		if self._parsed is None:
			raw = self.raw_message
			self._parsed = parse_message(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape"))
		return self._parsed

	@property
	def decision(self):
		"""The engine's decision, made once per mail."""
		if self._decision is None:
			self._decision = route(
				self.parsed, FrappeLookup(), settings.keyring(), inbox_address=self.email_account.email_id
			)
		return self._decision

	def process(self):
		communication = super().process()
		if self.flags.is_new_communication:
			store.record_inbound(self.parsed, self.decision, communication, self.email_account.name)
		return communication

	def reference_document(self):
		if self._reference_document is None:
			threads = self.decision.action in (act.THREADED, act.OUTBOUND)
			conversation = self.decision.conversation if threads else None
			self._reference_document = (store.parent_document(conversation) if conversation else None) or ""
		return self._reference_document

	def _create_reference_document(self, doctype):
		"""Create the Issue only when the engine says the mail opens a conversation."""
		decision = self.decision
		reopens = decision.action == act.THREADED  # its conversation's document was deleted
		if decision.action != act.NEW and not reopens:
			return None
		name = super()._create_reference_document(doctype)
		if name and decision.project and frappe.get_meta(doctype).has_field("project"):
			frappe.db.set_value(doctype, name, "project", decision.project)
		return name
