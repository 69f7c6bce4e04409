"""PTInboundMail: Frappe's InboundMail whose reference lookup asks the engine.

Only the questions stock answers by guessing are replaced: which document a mail belongs
to (``reference_document``), whether to create one (``_create_reference_document``), and
what the reply does to the ticket's status (stock sets any Issue to Open on any received
mail, even an out-of-office). Everything else (attachments, inline images, seen status,
duplicates by Message-ID, Unhandled Email on errors) is stock, via super(); only stock's
second save of a mail without attachments is not made (KeepsHeaders._build_communication_doc).
"""

from __future__ import annotations

import html
import re
import sys
from functools import partial

import frappe
from frappe.email.receive import InboundMail, SentEmailInInboxError
from frappe.utils import cstr, sanitize_html, strip_html

from ..engine import decision as act
from ..engine import lifecycle
from ..engine.limits import apply_flood_guard
from ..engine.machine_mail import BOUNCE, bounced_recipients, is_silent
from ..engine.body import html_to_text
from ..engine.authenticity import assess
from ..engine.decoding import storable_text
from ..engine.message import MAX_MESSAGE_ID, parse_message
from ..engine.participants import review_participants
from ..engine.router import route
from ..engine.rules.prefix import find_prefix
from ..history import header_block
from . import concurrency, helpdesk, journal, notifications, review_queue, rows, settings, store, timeline
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
		"""Stock's fields as the database takes them (rows.fitted: raw 8-bit header bytes read
		as mail clients read them, names cut to their column), plus the header block."""
		data = {key: value if value is None or isinstance(value, str | int | float) else str(value)
				for key, value in super().as_dict().items()}
		if len(data.get("message_id") or "") > MAX_MESSAGE_ID:  # 64 KB of "Message-ID" is no id
			data["message_id"] = None
		for key, header in (("recipients", "To"), ("cc", "Cc"), ("bcc", "Bcc")):
			if not tame_addresses(data.get(key)):
				# Stock re-parses these on every save with the stdlib's recursive parser: a
				# header of nested comments exceeds Python's recursion limit. The addresses alone.
				data[key] = ", ".join(self._addresses(header)) or None
		if data.get("subject") and not strip_html(data["subject"]).strip():
			# Nothing but "<...>" (a Message-ID as the subject): Frappe reads a value of tags
			# alone as missing and refuses the mandatory subject. Kept as text instead.
			data["subject"] = html.escape(data["subject"], quote=False)
		raw = self.raw_message
		data["pt_headers"] = header_block(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape"))
		if self.__dict__.get("_inserted_whole"):
			data["content"] = sanitize_html(self.replace_inline_images([]))  # what stock's second save writes
		return rows.fitted("Communication", data)

	def _build_communication_doc(self):
		"""Stock inserts the Communication without its text, saves the attachments against its
		name, and then saves it again with the text: validation, timeline links, hooks and a
		Version row all a second time, a quarter of a mail's cost (make bench). A mail without
		attachments has nothing to wait for: its text goes in with the insert, stock's own
		code builds and inserts it, and the second save is not made (``_InsertedWhole``)."""
		if self.attachments:
			return super()._build_communication_doc()
		self._inserted_whole = True
		try:
			return super()._build_communication_doc()
		except _InsertedWhole as inserted:
			communication = inserted.communication
			communication._attachments = []
			communication.reset_seen()  # seen by the pulling user, as stock's second save leaves it
			return communication
		finally:
			self._inserted_whole = False


	def _addresses(self, header: str) -> list[str]:
		# The engine's parse made while the mail was read or routed; parsed here only without one.
		message = self.__dict__.get("_parsed") or self.__dict__.get("_engine_view")
		if message is None:
			raw = self.raw_message
			message = parse_message(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape"))
		named = dict.fromkeys(address for address in {"To": message.to, "Cc": message.cc}.get(header, ())
							  if len(address.rpartition("@")[0]) <= 64 and len(address) <= 254  # RFC 5321
							  and tame_addresses(address))  # each once, in order
		return list(named)[:MAX_ADDRESSES]

	def save_attachments_in_doc(self, doc):
		"""Stock's, one attachment at a time: a name too long for the disk or the File record
		is shortened, and a file stock cannot take (an "image" Pillow cannot read) is kept as
		plain data under ``<name>.bin``; neither fails the whole mail."""
		if self.__dict__.get("_inserted_whole"):  # stock's insert is made, with the text: done
			raise _InsertedWhole(doc)
		every, saved = self.attachments, []
		try:
			for attachment in every:
				attachment["fname"] = safe_file_name(attachment["fname"])
				self.attachments = [attachment]
				frappe.db.savepoint("pt_attachment")
				try:
					saved += super().save_attachments_in_doc(doc)
				except Exception:
					frappe.db.rollback(save_point="pt_attachment")
					attachment["fname"] = safe_file_name(attachment["fname"] + ".bin")
					attachment["content_type"] = "application/octet-stream"
					saved += super().save_attachments_in_doc(doc)
		finally:
			self.attachments = every
		return saved


class _InsertedWhole(Exception):
	"""Ends stock's _build_communication_doc after its insert of a mail without attachments:
	raised where stock turns to saving them, carrying the Communication it inserted."""

	def __init__(self, communication):
		super().__init__(communication.name)
		self.communication = communication


#: An address header stock may parse as it is: short, without deep comment nesting or
#: groups (the stdlib's parser recurses into each "(" and each ":"), and naming at most
#: MAX_ADDRESSES (stock makes a Contact of every address on each save, and logs an error
#: with a traceback for each it cannot: 75 s for 3,000 bare names). A longer list keeps its
#: first MAX_ADDRESSES real addresses; the header block keeps every one.
MAX_ADDRESS_CHARS = 8192
MAX_ADDRESS_PARENTHESES = 64
MAX_ADDRESSES = 100


#: RFC 5321 caps a local part at 64 characters; stock names a new Contact after it, and a
#: longer one fails that Contact and then the error log meant to record it.
_OVERLONG_LOCAL_PART = re.compile(r"[^\s<>,;:@\"]{65,}@")


def tame_addresses(value: str | None) -> bool:
	return not value or (len(value) <= MAX_ADDRESS_CHARS and value.count("(") <= MAX_ADDRESS_PARENTHESES
						 and value.count(":") <= MAX_ADDRESS_PARENTHESES and value.count(",") < MAX_ADDRESSES
						 and not _OVERLONG_LOCAL_PART.search(value))


def safe_file_name(name: str, chars: int = 120, disk_bytes: int = 200) -> str:
	"""A received attachment's name as a File and the disk take it (extension kept)."""
	name = storable_text(str(name or "attachment")).replace("/", "_").replace("\\", "_").strip() or "attachment"
	stem, dot, extension = name.rpartition(".")
	if not dot or len(extension) > 10:
		stem, extension = name, ""
	extension = f".{extension}" if extension else ""
	stem = stem[:chars - len(extension)]
	while len((stem + extension).encode()) > disk_bytes:
		stem = stem[:-8]
	return stem + extension


class PTInboundMail(KeepsHeaders):
	@classmethod
	def adopt(cls, mail: InboundMail) -> "PTInboundMail":
		adopted = super().adopt(mail)
		adopted._parsed = mail.__dict__.get("_engine_view")  # the journal's parse (SafeInboundMail): parsed once
		adopted._forget()
		return adopted

	def _forget(self):
		"""Drop what one attempt decided (a retried transaction decides afresh)."""
		self._decision = None
		self._routing_lookup = None
		self._transition = None
		self._status_before = None
		self._linked_from = None
		self._opened = None  # (doctype, name) of the document this mail opened
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
			parsed = self.parsed
			lookup = FrappeLookup(account=self.email_account,
								  named=(parsed.from_addr, parsed.header_from, *parsed.to[:20], *parsed.cc[:20]),
								  message_ids=(parsed.message_id, *parsed.in_reply_to, *parsed.references[-20:]))
			decision = route(
				self.parsed,
				lookup,
				settings.keyring(),
				inbox_address=self.email_account.email_id,
				policy=settings.routing_policy(),
			)
			decision.defects.extend(getattr(self, "read_defects", ()))  # what stock could not read
			self._routing_lookup = lookup
			self._decision = apply_flood_guard(decision, self.parsed.from_addr, lookup, site_now(),
											   settings.flood_guard())
		return self._decision

	@property
	def silent(self) -> bool:
		"""An auto-reply or a bounce on strong evidence: attached (if it threads) without changing
		anything. Suspected machine mail changes statuses like a person's."""
		return is_silent(self.decision.machine)

	def process(self):
		"""Store this mail once: retried on a deadlock or lock timeout; with the journal, crossed
		off first thing in the transaction that stores it (another worker finds it gone).

		A mail that still fails, not because the database is busy or away but because of
		something in it, is stored as it is for a reviewer (``_store_for_review``): never lost,
		never retried forever. Our own sent mail that is no reply is skipped, as stock does."""
		entry = getattr(self, "journal_entry", None)
		if self.is_sender_same_as_receiver() and not self.is_reply():
			if entry:
				journal.skipped(entry, "Sent from this inbox's own address and not a reply: not stored (as stock)")
				frappe.db.commit()
			raise SentEmailInInboxError
		try:
			return concurrency.retrying(lambda: self._process_once(entry), self._forget)
		except Exception:
			error = frappe.get_traceback()
			if not concurrency.is_transient_or_outage(sys.exc_info()[1]):
				frappe.db.rollback()
				try:
					return self._store_for_review(entry, error)
				except Exception:
					frappe.db.rollback()
					error += "\nStoring it for a reviewer failed too:\n" + frappe.get_traceback()
			if entry:  # after stock's rollback: keep why, for the next pull and the admin
				frappe.db.after_rollback.add(partial(journal.failed, entry, error))
			raise

	def _store_for_review(self, entry, error: str):
		"""The mail as one Communication linked to nothing and an Open queue row that says what
		failed: a reviewer attaches it or opens an Issue. Nothing automatic happens."""
		if entry and not journal.cross_off(entry, lock_message=self.parsed.message_id or ""):
			return None  # another worker stored it; the same mail in another inbox waits for this one
		self._forget()
		communication, _queued = review_queue.store_unprocessed(self.plain_fields(), self.parsed, self.email_account.name,
														 journal.plain_error(error))
		return communication

	def plain_fields(self) -> dict:
		"""as_dict() without stock's HTML cleaning (the step most likely to have failed)."""
		self.content, self.content_type = self.text_content or "", "text/plain"
		return self.as_dict()

	def _process_once(self, entry):
		message_id = self.parsed.message_id or ""
		if entry is None:
			concurrency.lock_message(message_id)
		elif not journal.cross_off(entry, lock_message=message_id):  # its Message-ID locked by the same statement
			return None  # another worker stored it
		return self._store()

	def _store(self):
		timeline.end_mail()  # what the last mail audited is its own
		communication = super().process()
		if self.flags.is_new_communication:
			parent = self._reference_document
			reference = (communication.reference_doctype, cstr(communication.reference_name) or None)
			row, followers = store.record_inbound(self.parsed, self.decision, communication, self.email_account.name,
												  parent=(parent.doctype, parent.name) if parent else None,
												  opened=reference == self._opened,
												  follows=(self._linked_from.doctype, self._linked_from.name)
												  if self._linked_from is not None else None)
			if not self.decision.conversation and self.decision.action in (act.QUEUED, act.IGNORED):
				review_queue.queue_mail(self.parsed, self.decision, communication.name, self.email_account.name, row)
			if self.decision.conversation:  # what the stored mail calls for: history, relays, followers
				if followers is None and not (self.decision.participants or {}).get("changes"):
					followers = self._routing_lookup.participants_read.get(self.decision.conversation)  # as read
				notifications.after_message(self.decision.conversation, reference, self.decision, self.parsed.from_addr,
											people=followers)
			self._apply_transition(communication)
			machine = self.decision.machine or {}
			if machine.get("kind") == BOUNCE and not machine.get("suspected") and self.decision.conversation:
				store.mark_bounced(self.decision.conversation, reference, bounced_recipients(self.parsed))
		return communication

	def is_exist_in_system(self):
		"""Stock: any Communication with this Message-ID is this mail again. Here only what the
		engine calls a duplicate (same Message-ID and same content, or the same derived id of
		a mail without one); a stranger who used the id first cannot get this mail dropped.
		A Message-ID the engine never stored (mail from before the app) keeps stock's answer."""
		if self.decision.action == act.DUPLICATE:
			return super().is_exist_in_system() or store.communication_of_message(self.decision.message_id)
		routed = self._routing_lookup
		if routed is not None and (self.message_id or "").lower() in routed.not_in_communications:
			return None  # routing just looked for this id in Communication: none has it
		existing = super().is_exist_in_system()
		if existing is not None and not FrappeLookup().messages_by_ids([self.decision.message_id or ""]):
			return existing
		return None

	def parent_communication(self):
		"""Stock's In-Reply-To lookup, which only names the replied-to Communication on the new
		one: answered by the app's record of that Message-ID, read while routing, instead of
		stock loading that whole Communication again; stock's own lookup otherwise."""
		if self._parent_communication is None and self.is_reply() and self._routing_lookup is not None:
			known = self._routing_lookup.communications.get(self.in_reply_to.lower())
			if known:
				self._parent_communication = frappe._dict(doctype="Communication", name=known)
		return super().parent_communication()

	def reference_document(self):
		if self._reference_document is None:
			self._reference_document = self._engine_reference() or ""
		return self._reference_document

	def _engine_reference(self):
		decision = self.decision
		if decision.action not in (act.THREADED, act.OUTBOUND) or not decision.conversation:
			return None
		parent = store.parent_document(decision.conversation, self._routing_lookup.documents.get(decision.conversation))
		if parent is None or decision.action == act.OUTBOUND or not parent.meta.has_field("status"):
			return parent
		self._status_before = parent.status
		self._transition = lifecycle.on_inbound_reply(
			parent.status,
			self.text_content or html_to_text(self.html_content or ""),  # stock parsed the body already
			self.silent,
			partial(days_in_status, parent),  # read only for a resolved or closed one
			settings.lifecycle_policy(parent.get("project")),
			decision.sender_role,  # only a customer's public reply changes a status
			decision.visibility,
		)
		if self._transition.action == "new_linked":
			decision.action, decision.conversation = act.NEW, None
			decision.evidence += f"; {parent.doctype} {parent.name} is closed, so a new linked one was opened"
			policy = settings.routing_policy()  # its people are decided afresh for the new conversation
			review_participants(decision, self.parsed, FrappeLookup(), policy.cc_blocklist,
								assess(self.parsed, policy.trusted_authserv_ids), policy.ccs_by_email)
			self._linked_from = parent
			return None
		helpdesk.expect_status(parent, self._transition.status or self._status_before)  # not Helpdesk's "Open"
		return parent

	def _create_reference_document(self, doctype):
		"""Create the Issue only when the engine says the mail opens a conversation."""
		decision = self.decision
		reopens = decision.action == act.THREADED  # its conversation's document was deleted
		if decision.action != act.NEW and not reopens:
			return None
		frappe.local.pt_opening = decision  # its target and requester, set before the insert (route_new_ticket)
		try:
			with helpdesk.opening(doctype, self):  # Helpdesk's acknowledgement waits for the engine's limits
				name = super()._create_reference_document(doctype)
		finally:
			frappe.local.pt_opening = None
		if name:
			self._opened = (doctype, str(name))  # as the Communication names it (an HD Ticket's: a number)
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
