"""Email Account override: stock fetching, engine routing.

``get_inbound_mails()`` is stock (via super()); each mail for an account that appends to
the conversation DocType is handed to PTInboundMail. Other accounts keep stock behaviour.

One stock flaw is mended on the way: stock builds every fetched mail inside one try, and a
single mail whose body names a codec that fails to decode (``charset=punycode``) raises
there, so stock logs "Error while connecting" and drops the WHOLE batch (with IMAP UIDs
already advanced, for good). While super() builds the batch, it builds SafeInboundMail.
"""

from __future__ import annotations

import contextlib

import frappe

from frappe.email.doctype.email_account import email_account as stock
from frappe.email.doctype.email_account.email_account import EmailAccount
from frappe.email.receive import InboundMail

from . import auto_reply, journal, settings
from .inbound import KeepsHeaders, PTInboundMail
from .routing_config import check_default_landing_project


class SafeInboundMail(InboundMail):
	"""Stock's InboundMail whose body decoding never raises (a bad label decodes as UTF-8,
	replacing what does not decode); the engine records the same problem as a defect."""

	def get_payload(self, part):
		try:
			return super().get_payload(part)
		except Exception:
			return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


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

	def get_inbound_mails(self):
		with _safe_mail_building():
			mails = super().get_inbound_mails()
		target = settings.conversation_doctype()
		if not settings.enabled():  # stock routes; the headers are kept for a preview
			return [KeepsHeaders.adopt(mail) if (mail.append_to or self.append_to) == target else mail
					for mail in mails]
		ours = [mail for mail in mails if (mail.append_to or self.append_to) == target]
		others = [mail for mail in mails if (mail.append_to or self.append_to) != target]
		return others + [PTInboundMail.adopt(mail) for mail in journal.take(self, ours, SafeInboundMail)]

	def handle_bad_emails(self, uid, raw, reason):
		"""A journaled mail stays in the journal (tried again next pull); only other mail goes
		to stock's Unhandled Email."""
		digest_name = journal.entry_name(self.name, raw if isinstance(raw, bytes) else
										 raw.encode("utf-8", "surrogateescape"))
		if frappe.db.exists(journal.JOURNAL, digest_name):
			return
		super().handle_bad_emails(uid, raw, reason)
