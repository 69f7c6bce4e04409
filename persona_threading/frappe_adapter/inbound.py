"""PTInboundMail: Frappe's InboundMail whose reference lookup asks the engine.

Only the questions stock answers by guessing are replaced: which document a mail belongs
to (``reference_document``), whether to create one (``_create_reference_document``), and
what the reply does to the ticket's status (stock sets any Issue to Open on any received
mail, even an out-of-office). Everything else (attachments, inline images, seen status,
duplicates by Message-ID, Unhandled Email on errors) is stock, via super().
"""

from __future__ import annotations

from functools import partial

import frappe
from frappe.email.receive import InboundMail

from ..engine import decision as act
from ..engine import lifecycle
from ..engine.limits import apply_flood_guard
from ..engine.machine_mail import BOUNCE, SILENT_KINDS, bounced_recipients
from ..engine.body import html_to_text
from ..engine.authenticity import assess
from ..engine.message import parse_message
from ..engine.participants import review_participants
from ..engine.router import route
from ..engine.rules.prefix import find_prefix
from ..history import header_block
from . import concurrency, journal, settings, store
from .auto_reply import site_now
from .lookup import FrappeLookup, days_in_status


class KeepsHeaders(InboundMail):
	"""The Communication keeps the mail's header block: what a preview replays (history.py)."""

	@classmethod
	def adopt(cls, mail: InboundMail):
		"""Take over a stock InboundMail without parsing the message again."""
		adopted = cls.__new__(cls)
		adopted.__dict__.update(mail.__dict__)
		return adopted

	def as_dict(self):
		data = super().as_dict()
		raw = self.raw_message
		data["pt_headers"] = header_block(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape"))
		return data


class PTInboundMail(KeepsHeaders):
	@classmethod
	def adopt(cls, mail: InboundMail) -> "PTInboundMail":
		adopted = super().adopt(mail)
		adopted._parsed = None
		adopted._forget()
		return adopted

	def _forget(self):
		"""Drop what one attempt decided (a retried transaction decides afresh)."""
		self._decision = None
		self._transition = None
		self._status_before = None
		self._linked_from = None
		self._reference_document = None
		self._parent_communication = None
		self._parent_email_queue = None
		self.flags.is_new_communication = False

	@property
	def parsed(self):
		if self._parsed is None:
			raw = self.raw_message
			self._parsed = parse_message(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape"))
		return self._parsed

	@property
	def decision(self):
		"""The engine's decision, made once per mail (a flooding sender's new mail is queued)."""
		if self._decision is None:
			lookup = FrappeLookup()
			decision = route(
				self.parsed,
				lookup,
				settings.keyring(),
				inbox_address=self.email_account.email_id,
				policy=settings.routing_policy(),
			)
			self._decision = apply_flood_guard(decision, self.parsed.from_addr, lookup, site_now(),
											   settings.flood_guard())
		return self._decision

	@property
	def silent(self) -> bool:
		"""An auto-reply or a bounce: attached (if it threads) without changing anything."""
		return bool(self.decision.machine) and self.decision.machine.get("kind") in SILENT_KINDS

	def process(self):
		"""Store this mail once: retried on a deadlock or lock timeout; with the journal, only
		by the worker that claims it, and crossed off in the same transaction."""
		entry = getattr(self, "journal_entry", None)
		try:
			return concurrency.retrying(lambda: self._process_once(entry), self._forget)
		except Exception:
			if entry:  # after stock's rollback: keep why, for the next pull and the admin
				frappe.db.after_rollback.add(partial(journal.failed, entry, frappe.get_traceback()))
			raise

	def _process_once(self, entry):
		if entry and not journal.claim(entry):
			return None  # another worker has it, or it is stored already
		concurrency.lock_message(self.parsed.message_id or "")
		communication = self._store()
		if entry:
			journal.done(entry)
		return communication

	def _store(self):
		communication = super().process()
		if self.flags.is_new_communication:
			store.record_inbound(self.parsed, self.decision, communication, self.email_account.name)
			self._apply_transition(communication)
			if self.decision.machine and self.decision.machine.get("kind") == BOUNCE and self.decision.conversation:
				store.mark_bounced(self.decision.conversation, (communication.reference_doctype,
																communication.reference_name),
								   bounced_recipients(self.parsed))
		return communication

	def is_exist_in_system(self):
		"""Stock: any Communication with this Message-ID is this mail again. Here only what the
		engine calls a duplicate (same Message-ID and same content, or the same derived id of
		a mail without one); a stranger who used the id first cannot get this mail dropped.
		A Message-ID the engine never stored (mail from before the app) keeps stock's answer."""
		if self.decision.action == act.DUPLICATE:
			return super().is_exist_in_system() or store.communication_of_message(self.decision.message_id)
		existing = super().is_exist_in_system()
		if existing is not None and not FrappeLookup().messages_by_ids([self.decision.message_id or ""]):
			return existing
		return None

	def reference_document(self):
		if self._reference_document is None:
			self._reference_document = self._engine_reference() or ""
		return self._reference_document

	def _engine_reference(self):
		decision = self.decision
		if decision.action not in (act.THREADED, act.OUTBOUND) or not decision.conversation:
			return None
		parent = store.parent_document(decision.conversation)
		if parent is None or decision.action == act.OUTBOUND or not parent.meta.has_field("status"):
			return parent
		self._status_before = parent.status
		self._transition = lifecycle.on_inbound_reply(
			parent.status,
			self.text_content or html_to_text(self.html_content or ""),  # stock parsed the body already
			self.silent,
			days_in_status(parent),
			settings.lifecycle_policy(parent.get("project")),
		)
		if self._transition.action == "new_linked":
			decision.action, decision.conversation = act.NEW, None
			decision.evidence += f"; {parent.doctype} {parent.name} is closed, so a new linked one was opened"
			policy = settings.routing_policy()  # its people are decided afresh for the new conversation
			review_participants(decision, self.parsed, FrappeLookup(), policy.cc_blocklist,
								assess(self.parsed, policy.trusted_authserv_ids))
			self._linked_from = parent
			return None
		return parent

	def _create_reference_document(self, doctype):
		"""Create the Issue only when the engine says the mail opens a conversation."""
		decision = self.decision
		reopens = decision.action == act.THREADED  # its conversation's document was deleted
		if decision.action != act.NEW and not reopens:
			return None
		name = super()._create_reference_document(doctype)
		if name:
			store.shape_new_document(doctype, name, decision, self._clean_subject(decision))
			if self._linked_from is not None:
				store.link_documents(self._linked_from, doctype, name, self._transition.note)
		return name

	def _clean_subject(self, decision) -> str | None:
		"""The subject without its routing #PREFIX, when the site strips it."""
		if decision.rule != "prefix" or not settings.settings().strip_prefix_from_subject:
			return None
		prefix = find_prefix(self.subject, settings.routing_policy().prefix_after_reply_markers)
		return self.subject.replace(f"#{prefix}", "", 1).strip() if prefix else None

	def _apply_transition(self, communication):
		"""Stock set the status on receipt; the engine's transition (or the old status) wins."""
		if self._transition is None or not communication.reference_name:
			return
		if self._linked_from is not None:
			return
		store.apply_transition(
			communication.reference_doctype, communication.reference_name, self._status_before, self._transition
		)
