"""Email Account override: stock fetching, engine routing.

``get_inbound_mails()`` is stock (via super()); each mail for an account that appends to
the conversation DocType is handed to PTInboundMail. Other accounts keep stock behaviour.
"""

from __future__ import annotations

from frappe.email.doctype.email_account.email_account import EmailAccount

from . import auto_reply, settings
from .inbound import PTInboundMail
from .routing_config import check_default_landing_project


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
		mails = super().get_inbound_mails()
		if not settings.enabled():
			return mails
		target = settings.conversation_doctype()
		return [
			PTInboundMail.adopt(mail) if (mail.append_to or self.append_to) == target else mail for mail in mails
		]
