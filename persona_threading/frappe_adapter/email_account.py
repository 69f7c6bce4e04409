"""Email Account override: stock fetching, engine routing.

``get_inbound_mails()`` is stock (via super()); each mail for an account that appends to
the conversation DocType is handed to PTInboundMail. Other accounts keep stock behaviour.
"""

from __future__ import annotations

from frappe.email.doctype.email_account.email_account import EmailAccount

from . import settings
from .inbound import PTInboundMail


class PTEmailAccount(EmailAccount):
	def get_inbound_mails(self):
		mails = super().get_inbound_mails()
		if not settings.enabled():
			return mails
		target = settings.conversation_doctype()
		return [
			PTInboundMail.adopt(mail) if (mail.append_to or self.append_to) == target else mail for mail in mails
		]
