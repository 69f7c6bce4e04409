"""Mail the app sends to participants beside the reply itself (engine.participants decides who).

- A newly added CC receives, once, the conversation's public history (one mail, in order).
- Followers are notified of public replies and internal notes by a separate mail: they are
  never named in the To/Cc of anything a customer receives.
Both carry the conversation's token in the subject, so a reply to them threads.
"""

from __future__ import annotations

import frappe
from frappe.utils import escape_html

from ..engine.outgoing import stamp
from ..engine.participants import follower_notifications, public_history
from ..engine.participants.standing import is_silent_machine_mail
from . import settings, store
from .lookup import FrappeLookup


def _stamped_subject(conversation: str, subject: str) -> str:
	key = frappe.db.get_value(store.CONVERSATION, conversation, "key")
	return stamp(key=key, keyring=settings.keyring(), subject=subject, text="", html_body="",
				 use=settings.carriers()).subject


def _send(recipients: list[str], conversation: str, reference: tuple[str, str], subject: str, html: str) -> None:
	inbox = frappe.db.get_value(store.CONVERSATION, conversation, "email_account")
	sender = frappe.db.get_value("Email Account", inbox, "email_id") if inbox else None
	frappe.sendmail(recipients=recipients, sender=sender, reply_to=sender, subject=_stamped_subject(conversation, subject),
					content=html, reference_doctype=reference[0], reference_name=reference[1])


def _messages(conversation: str) -> list[dict]:
	Message = frappe.qb.DocType(store.MESSAGE)
	Comm = frappe.qb.DocType("Communication")
	return (frappe.qb.from_(Message).left_join(Comm).on(Comm.name == Message.communication)
			.select(Message.message_id, Message.visibility, Message.sender, Message.creation, Comm.content)
			.where(Message.conversation == conversation).orderby(Message.creation).run(as_dict=True))


def after_message(conversation: str, reference: tuple[str, str], decision, author: str | None) -> None:
	"""Send what a stored message calls for: history to new CCs, notifications to followers."""
	if not all(reference) or is_silent_machine_mail(decision):
		return  # an out-of-office or a bounce is nobody's news
	subject = frappe.db.get_value(*reference, "subject") or reference[1]
	added = (decision.participants or {}).get("added_ccs") or []
	if added:
		shown = public_history(_messages(conversation), until_message_id=decision.message_id)
		if shown:
			body = "".join(f"<div class='pt-history'><p><b>{escape_html(m.sender or '')}</b> "
						   f"({m.creation:%Y-%m-%d %H:%M})</p>{m.content or ''}</div><hr>" for m in shown)
			intro = f"<p>You were added to this conversation ({escape_html(reference[1])}). What was said so far:</p>"
			for address in added:
				_send([address], conversation, reference, f"Re: {subject}", intro + body)
	followers = follower_notifications(FrappeLookup().participants(conversation), author)
	if followers:
		kind = "Internal note" if decision.visibility == "private" else "Public reply"
		content = frappe.db.get_value("Communication", {"message_id": decision.message_id}, "content") \
			if decision.message_id else ""
		html = (f"<p><b>{kind}</b> on {escape_html(reference[0])} {escape_html(reference[1])} "
				f"from {escape_html(author or '')}:</p>{content or ''}")
		_send(followers, conversation, reference, f"[{kind}] {subject}", html)
