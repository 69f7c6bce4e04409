"""Email Account override: stock fetching, engine routing.

``get_inbound_mails()`` is stock (via super()); each mail for an account that appends to
the conversation DocType is handed to PTInboundMail. Other accounts keep stock behaviour.

One stock flaw is mended on the way: stock builds every fetched mail inside one try, and a
single mail it cannot read (no From header, a body naming a codec that is no charset, an
attached message with nothing inside) raises there, so stock logs "Error while connecting"
and drops the WHOLE batch (with IMAP UIDs already advanced, for good). While super() builds
the batch, it builds SafeInboundMail, which reads every mail.
"""

from __future__ import annotations

import contextlib
import email
import html
import re

import frappe
from frappe.utils import now, validate_email_address

from frappe.email.doctype.email_account import email_account as stock
from frappe.email.doctype.email_account.email_account import EmailAccount
from frappe.email import receive as stock_reading
from frappe.email.receive import InboundMail

from ..engine.decoding import storable_text
from ..engine.html_weight import rebuilt_elements, too_heavy_to_clean
from ..engine.message import DERIVED_ID_DOMAIN, parse_message
from . import auto_reply, conversations, journal, pull, settings, timeline
from .inbound import KeepsHeaders, PTInboundMail
from .routing_config import check_default_landing_project


MAX_NAME_CHARS = 100


class SafeInboundMail(InboundMail):
	"""Stock's InboundMail that never raises while it reads a mail, and reads it in linear time.

	Each of stock's reading steps runs as stock wrote it (via super()); a step that raises on
	the sender's bytes (a missing From, a message/rfc822 part with nothing inside, a codec
	that is no charset) is done again from the engine's parse of the same bytes, and the
	problem is kept in ``read_defects`` (shown with the routing decision). Every step is
	linear in the mail's size (see get_charset).
	"""

	def __init__(self, content, email_account, uid=None, seen_status=None, append_to=None):
		self.read_defects = []
		try:
			super().__init__(content, email_account, uid, seen_status, append_to)
		except Exception as exc:  # what the steps below do not cover (Message-ID, Date)
			self._read_plainly(content, email_account, uid, seen_status, append_to, exc)

	@property
	def engine_view(self):
		"""The engine's parse of the same bytes (cached): what a failed step falls back to."""
		if getattr(self, "_engine_view", None) is None:
			raw = self.raw_message
			self._engine_view = parse_message(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape"))
		return self._engine_view

	def _noted(self, step: str, exc: Exception) -> None:
		self.read_defects.append(f"stock could not {step} ({exc.__class__.__name__}: {str(exc)[:200]}); "
								 "read by persona_threading instead")

	def parse(self):
		try:
			super().parse()
		except Exception as exc:
			self._noted("read the body", exc)
			self.text_content, self.html_content = self.engine_view.text, ""
			self.attachments, self.cid_map = [], {}

	def set_content_and_type(self):
		if self._html_too_heavy():
			# Stock cleans and sanitises HTML with BeautifulSoup and bleach several times per
			# mail, and both slow down far faster than the HTML grows (a 3 MB mail took 60 s,
			# 9 KB of paragraphs each leaving a <b> open 3.3 s): such a body is kept as text,
			# and the defect says so.
			self.read_defects.append(f"HTML body of {len(self.html_content)} characters "
									 f"({self.html_content.count('</')} end tags, "
									 f"{rebuilt_elements(self.html_content)} formatting elements to reopen) stored as text")
			self.html_content = ""
			if not self.text_content.strip():
				self.text_content = self.engine_view.text[:self.MAX_TEXT_CHARS]
		try:
			super().set_content_and_type()
		except Exception as exc:
			self._noted("read the text", exc)
			self.content, self.content_type = self.text_content or "[Blank Email]", "text/plain"
		if self.content_type == "text/plain":
			# Text is text: "<" shown as written, never parsed as a tag (stock hands text with a
			# "<" to bleach, whose tokenizer is quadratic in a long attribute: 20 s for 200 KB).
			self.content = html.escape(self.content, quote=False)

	#: Past these, an HTML body is stored as text (see set_content_and_type).
	MAX_HTML_CHARS = 256 * 1024
	MAX_HTML_END_TAGS = 4000
	MAX_TEXT_CHARS = 512 * 1024
	_LONG_TOKEN = re.compile(r"[^\s<>]{16384}")

	def _html_too_heavy(self) -> bool:
		content = self.html_content
		return len(content) > self.MAX_HTML_CHARS or (len(content) > 16384 and (
			content.count("</") > self.MAX_HTML_END_TAGS or bool(self._LONG_TOKEN.search(content)))) or (
			too_heavy_to_clean(content))  # formatting left open in block after block (engine.html_weight)

	def set_subject(self):
		try:
			super().set_subject()
		except Exception as exc:
			self._noted("decode the Subject", exc)
			self.subject = self.engine_view.subject.strip()[:140] or "No Subject"
		if "\ufffd" in self.subject and "\ufffd" not in self.engine_view.subject:
			# Raw 8-bit bytes (an old mailer's Latin-1): stock reads them as broken UTF-8.
			self.subject = self.engine_view.subject.strip()[:140] or self.subject
		self.subject = storable_text(self.subject)

	#: Stock reads From with a regex that backtracks (Frappe's parse_addr: 150 s for a 190 KB
	#: From): an address header longer than this is read by the engine (capped, linear).
	MAX_FROM_CHARS = 2000

	def set_from(self):
		longest = max(len(str(self.mail.get(name) or "")) for name in ("From", "X-Original-From", "Reply-To"))
		try:
			if longest > self.MAX_FROM_CHARS:
				raise ValueError(f"an address header of {longest} characters")
			super().set_from()
		except Exception as exc:
			self._noted("read the From address", exc)
			self.from_email = self.engine_view.from_addr
			self.from_real_name = self.engine_view.from_name or self.from_email
		self._storable_sender()

	def _storable_sender(self):
		"""The sender as Frappe's Email fields take it, whichever way the mail was read."""
		self.from_email = storable_text(self.from_email or "")
		# A display name becomes a Contact's name (140 characters with the last name): cut it.
		self.from_real_name = storable_text(self.from_real_name or "")[:MAX_NAME_CHARS]
		if self.from_email and (not validate_email_address(self.from_email)
								or len(self.from_email.rpartition("@")[0]) > 64):
			# "From: mailer-daemon", "From: foo": Frappe's Email fields refuse such a sender
			# (stock rolls the whole mail back). Kept as the sender's name; no address.
			self.read_defects.append(f"From {self.from_email!r} is no email address; kept as the sender's name")
			self.from_real_name, self.from_email = self.from_real_name or self.from_email, ""

	#: Stock renders an attached plain-text message with markdown2, which is quadratic in
	#: runs of markdown's special characters (158 s for 480 KB of backslashes): text longer
	#: than this is shown as written instead (0.2 s at this size).
	MAX_MARKDOWN_CHARS = 16384

	def show_attached_email_headers_in_content(self, part):
		try:
			with self._markdown_bounded():
				super().show_attached_email_headers_in_content(part)
		except Exception as exc:  # an attached message with no parts of its own
			self._noted("read an attached message", exc)

	@contextlib.contextmanager
	def _markdown_bounded(self):
		"""Stock's reading module names ``markdown`` from its own namespace: for this step, a
		text past MAX_MARKDOWN_CHARS becomes escaped text with line breaks (linear)."""
		markdown = stock_reading.markdown

		def bounded(text, *args, **kwargs):
			if len(text or "") <= self.MAX_MARKDOWN_CHARS:
				return markdown(text, *args, **kwargs)
			self.read_defects.append(f"attached message of {len(text)} characters shown as plain text")
			return "<p>" + html.escape(text, quote=False).replace("\n", "<br>\n") + "</p>"

		stock_reading.markdown = bounded
		try:
			yield
		finally:
			stock_reading.markdown = markdown

	def get_charset(self, part):
		"""The part's declared charset; unlabelled 8-bit text is UTF-8 when it decodes as such,
		else Windows-1252, as mail clients read it (stock runs chardet here, whose regexes
		are quadratic: 75 s for a 170 KB part)."""
		charset = part.get_content_charset()
		if charset:
			return charset
		payload = part.get_payload(decode=True) or b""
		try:
			payload.decode("utf-8")
			return "utf-8"
		except UnicodeDecodeError:
			return "windows-1252"

	def get_payload(self, part):
		try:
			return super().get_payload(part)
		except Exception:  # a label that names no text codec: UTF-8, replacing what does not decode
			return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")

	def _read_plainly(self, content, email_account, uid, seen_status, append_to, exc):
		"""Everything from the engine's parse, when stock's constructor itself raised."""
		self._noted("read this mail", exc)
		self.raw_message = content
		self.mail = email.message_from_bytes(content if isinstance(content, bytes)
											 else content.encode("utf-8", "surrogateescape"))
		view = self.engine_view
		self.text_content, self.html_content, self.attachments, self.cid_map = view.text, "", [], {}
		self.content, self.content_type = self.text_content or "[Blank Email]", "text/plain"
		self.subject = storable_text(view.subject.strip()[:140]) or "No Subject"
		self.from_email, self.from_real_name = view.from_addr, view.from_name or view.from_addr
		self._storable_sender()
		self.message_id = (view.message_id if view.message_id and not view.message_id.endswith(DERIVED_ID_DOMAIN)
						   else "")
		self.date = now()
		self.email_account, self.uid, self.append_to = email_account, uid or -1, append_to
		self.seen_status = seen_status or 0
		self._parent_email_queue = self._parent_communication = self._reference_document = None
		self.flags = frappe._dict()


@contextlib.contextmanager
def _safe_mail_building():
	"""Stock's get_inbound_mails() names InboundMail from its module; point it at SafeInboundMail.

	Mail is fetched by one job at a time per worker process, so the swap is not shared.
	"""
	stock.InboundMail = SafeInboundMail
	try:
		yield
	finally:
		stock.InboundMail = InboundMail


class PTEmailAccount(EmailAccount):
	def _validate_links(self):
		check_default_landing_project(self)  # before stock's link check: 400/403, not 417
		super()._validate_links()

	def send_auto_reply(self, communication, email):
		"""Conversation inboxes answer through the engine's limits and merge codes, never stock's."""
		if isinstance(email, PTInboundMail):
			return auto_reply.answer(self, email, communication)
		return super().send_auto_reply(communication, email)

	def receive(self):
		try:
			with pull.pulling():  # its configuration read once (frappe_adapter.pull)
				return super().receive()
		finally:
			timeline.end_mail()  # nothing after the pull is any mail's

	def get_inbound_mails(self):
		with _safe_mail_building():
			mails = super().get_inbound_mails()
		target = conversations.is_conversation  # Issue, and HD Ticket where Frappe Helpdesk is installed
		if not settings.enabled():  # stock routes; the headers are kept for a preview
			return [KeepsHeaders.adopt(mail) if target(mail.append_to or self.append_to) else mail
					for mail in mails]
		ours = [mail for mail in mails if target(mail.append_to or self.append_to)]
		others = [mail for mail in mails if not target(mail.append_to or self.append_to)]
		return others + [PTInboundMail.adopt(mail) for mail in journal.take(self, ours, SafeInboundMail)]

	def handle_bad_emails(self, uid, raw, reason):
		"""A journaled mail stays in the journal (tried again next pull); only other mail goes
		to stock's Unhandled Email."""
		digest_name = journal.entry_name(self.name, raw if isinstance(raw, bytes) else
										 raw.encode("utf-8", "surrogateescape"))
		if frappe.db.exists(journal.JOURNAL, digest_name):
			return
		super().handle_bad_emails(uid, raw, reason)
