"""Mail the app sends to participants beside the reply itself (engine.participants decides who).

- A newly added CC (by email or from the panel) receives, once, the conversation's public
  history (one mail, in order).
- The requester and the active CCs get every public message, whoever wrote it: one the mail
  itself did not reach (a CC's reply to the helpdesk alone) is relayed to them, never to its
  author (Zendesk's CCs).
- Followers (agents who follow, wrote in or replied included) are notified of public replies
  and internal notes, desk-written notes too, by a separate mail: they are never named in the
  To/Cc of anything a customer receives.
Every such mail is stamped as a reply from the conversation is: the configured carriers in
subject and body, In-Reply-To and References of the thread (for customers, built only from
the public messages they could see), Thread-Index and Reply-To, so an answer to it threads.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import escape_html

from ..engine import decision as act
from ..engine.outgoing import stamp
from ..engine.participants import follower_notifications, public_history, relay_recipients
from ..engine.participants.standing import is_silent_machine_mail
from . import privacy, sent_mail, settings, store
from .lookup import FrappeLookup


def _send(recipients: list[str], conversation: str, reference: tuple[str, str], subject: str, html: str,
		  customers: bool) -> None:
	"""One mail from the conversation's inbox, with the carriers and threading headers of a
	reply (``customers``: the recipients are the customer side, who saw public messages only)."""
	inbox = frappe.db.get_value(store.CONVERSATION, conversation, "email_account")
	sender = frappe.db.get_value("Email Account", inbox, "email_id") if inbox else None
	state = store.thread_state(conversation, public_only=customers)
	stamped = stamp(key=state["key"], keyring=settings.keyring(), subject=subject, text="", html_body=html,
					in_reply_to=state["in_reply_to"], references=state["references"],
					thread_root=store.ensure_thread_root(conversation), reply_to=sender, use=settings.carriers())
	queued = frappe.sendmail(recipients=recipients, sender=sender, reply_to=sender, subject=stamped.subject,
							 content=stamped.html, reference_doctype=reference[0], reference_name=reference[1])
	for row in queued if isinstance(queued, list) else [queued] if queued else []:
		frappe.db.set_value("Email Queue", row.name, "message", sent_mail.set_headers(row.message, stamped.headers),
							update_modified=False)


def _messages(conversation: str) -> list[dict]:
	Message = frappe.qb.DocType(store.MESSAGE)
	Comm = frappe.qb.DocType("Communication")
	return (frappe.qb.from_(Message).left_join(Comm).on(Comm.name == Message.communication)
			.select(Message.message_id, Message.visibility, Message.sender, Message.creation, Comm.content)
			.where(Message.conversation == conversation).orderby(Message.creation).run(as_dict=True))


def _site(text: str) -> str:
	"""Mail the app writes itself, in the site's language (its readers' own is not known)."""
	return _(text, lang=frappe.get_system_settings("language") or "en")


def _subject(reference: tuple[str, str]) -> str:
	return frappe.db.get_value(*reference, "subject") or reference[1]


def send_history(conversation: str, reference: tuple[str, str], added: list[str],
				 until_message_id: str | None = None) -> None:
	"""The public history so far, once, to each newly added CC (``until_message_id``: the mail
	that added them, which they have)."""
	shown = public_history(_messages(conversation), until_message_id=until_message_id) if added else []
	if not shown:
		return
	body = "".join(f"<div class='pt-history'><p><b>{escape_html(m.sender or '')}</b> "
				   f"({m.creation:%Y-%m-%d %H:%M})</p>{m.content or ''}</div><hr>" for m in shown)
	intro = _site("You were added to this conversation ({0}). What was said so far:").format(reference[1])
	intro = f"<p>{escape_html(intro)}</p>"
	for address in added:
		_send([address], conversation, reference, _subject(reference), intro + body, customers=True)


def after_message(conversation: str, reference: tuple[str, str], decision, author: str | None,
				  people: list | None = None) -> None:
	"""Send what a stored message calls for: history to new CCs, the public message to the
	customers it did not reach, notifications to followers; each person once. ``people``: the
	conversation's followers, when the caller read them and nothing changed them since."""
	if not all(reference) or is_silent_machine_mail(decision):
		return  # an out-of-office or a bounce is nobody's news
	send_history(conversation, reference, (decision.participants or {}).get("added_ccs") or [], decision.message_id)
	on_mail = [f["email"] for f in (decision.participants or {}).get("message_followers") or []]
	if people is None:
		people = FrappeLookup().participants(conversation)
	public_reply = decision.visibility == "public" and decision.action == act.THREADED and not decision.machine
	relayed = relay_recipients(people, author, on_mail, settings.routing_policy().cc_blocklist) if public_reply else []
	followers = follower_notifications(people, author, on_mail)
	if not (relayed or followers):
		return
	content = frappe.db.get_value("Communication", {"message_id": decision.message_id}, "content") \
		if decision.message_id else ""
	if relayed:
		wrote = _site("{0} wrote:").format(f"<b>{escape_html(author or '')}</b>")
		html = f"<p>{wrote}</p>{content or ''}"
		_send(relayed, conversation, reference, _subject(reference), html, customers=True)
	kind = "Internal note" if decision.visibility == "private" else "Public reply"
	notify_followers(conversation, reference, kind, author, content or "", followers)


def notify_followers(conversation: str, reference: tuple[str, str], kind: str, author: str | None, content: str,
					 followers: list[str] | None = None) -> None:
	"""One mail to the followers (default: every one who did not write the message)."""
	if followers is None:
		followers = follower_notifications(FrappeLookup().participants(conversation), author)
	if followers:
		kind = _site(kind)
		what = _site("{0} on {1} {2} from {3}:").format(f"<b>{escape_html(kind)}</b>", escape_html(_site(reference[0])),
														 escape_html(reference[1]), escape_html(author or ""))
		html = f"<p>{what}</p>{content}"
		_send(followers, conversation, reference, f"[{kind}] {_subject(reference)}", html, customers=False)


def desk_note(doc, method=None) -> None:
	"""Comment after_insert: a note written in the desk (the timeline's comment box) reaches the
	followers as a note sent by email does; customers never see it. A website user's comment
	(ERPNext's portal lets a customer comment on their Issue) is no internal note."""
	if doc.comment_type != "Comment" or not doc.reference_name or not settings.enabled():
		return
	if not privacy.is_desk_user(doc.owner):
		return
	conversation = store.conversation_of(doc.reference_doctype, doc.reference_name)
	if conversation:
		author = (frappe.db.get_value("User", doc.owner, "email") or doc.comment_email or "").lower()
		notify_followers(conversation, (doc.reference_doctype, doc.reference_name), "Internal note", author,
						 doc.content or "")
