"""Frappe's Notification (an admin's automated mail on a document) for conversations: beside
stock's recipients, a Select chooses the conversation's customers as Zendesk's and Lime's
automations do: "Requester" or "Requester and CCs" (the active CCs, in Cc; never inactive CCs,
followers or third parties; the CC blocklist holds). Its mail is marked ``Auto-Submitted:
auto-generated`` (RFC 3834: it answers no message). Everything else is stock, via super().
"""

from __future__ import annotations

import frappe
from frappe.email.doctype.notification.notification import Notification

from ..engine.participants import reply_recipients
from . import settings, store
from .lookup import FrappeLookup

FIELD = "pt_conversation_recipients"
REQUESTER, REQUESTER_AND_CCS = "Requester", "Requester and CCs"
#: RFC 3834: automatic mail that answers no message is "auto-generated" ("auto-replied" is the
#: inbox's automatic reply); outbound.thread_email_queue reads it while the mail is queued.
AUTO_GENERATED_FLAG = "pt_auto_generated"


def conversation_recipients(doc, choice: str | None) -> tuple[list[str], list[str]]:
	"""(to, cc) the choice names on ``doc``'s conversation; nothing for other documents."""
	if choice not in (REQUESTER, REQUESTER_AND_CCS):
		return [], []
	conversation = store.conversation_of(doc.doctype, doc.name)
	if not conversation:
		return [], []
	found = reply_recipients(FrappeLookup().participants(conversation), settings.routing_policy().cc_blocklist)
	return found.to, found.cc if choice == REQUESTER_AND_CCS else []


class PTNotification(Notification):
	def send_an_email(self, doc, context):
		self.flags.pt_email = True  # only mail goes to customers (a system notification never)
		outer = frappe.flags.get(AUTO_GENERATED_FLAG)  # one sent while another is queued keeps its mark
		frappe.flags[AUTO_GENERATED_FLAG] = True
		try:
			return super().send_an_email(doc, context)
		finally:
			self.flags.pt_email = False
			frappe.flags[AUTO_GENERATED_FLAG] = outer

	def get_list_of_recipients(self, doc, context):
		recipients, cc, bcc = super().get_list_of_recipients(doc, context)
		if not self.flags.get("pt_email"):
			return recipients, cc, bcc
		to, copied = conversation_recipients(doc, self.get(FIELD))
		recipients = list(dict.fromkeys(recipients + to))
		return recipients, list(dict.fromkeys(a for a in cc + copied if a not in recipients)), bcc
