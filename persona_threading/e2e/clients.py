"""Customer answers to a mail the helpdesk sent, written the way real mail clients write them.

Each builder takes the bytes the SMTP capture kept (``CapturedMail.raw``) and leaves the
threading evidence that kind of client leaves, and only that, so the end-to-end loop shows
which rule each client depends on (the rule the chain is expected to name is in each
docstring). All of them are ``demo.client.customer_reply`` with that client's habits;
``new_mail`` writes a customer's first mail.
"""

from __future__ import annotations

from email.utils import make_msgid

from ..demo.client import customer_reply, new_mail
from ..engine import carriers
from ..engine.message import parse_message
from ..engine.outgoing import strip_carriers

__all__ = ["gmail_reply", "outlook_reply", "hidden_tag_reply", "headerless_reply",
           "out_of_office_reply", "new_mail"]


def _plain_subject(sent_raw: bytes) -> str:
    """The helpdesk's subject as the customer reads it: no reference code, no "Re:"."""
    subject = strip_carriers(parse_message(sent_raw).subject).subject
    while subject[:3].lower() == "re:":
        subject = subject[3:].strip()
    return subject


def gmail_reply(sent_raw: bytes, sender: str, text: str) -> bytes:
    """Gmail answering further down the thread: threads by ``references`` only.

    The customer answers a colleague's reply-all that never reached the helpdesk, so
    In-Reply-To names a mail the helpdesk does not know; Gmail's References holds the whole
    chain, the helpdesk's mail included. The subject lost its reference code and Gmail's
    collapsed quote was not sent, so no token travels.
    """
    colleague = make_msgid(domain=sender.rpartition("@")[2] or "customer.example")[1:-1]
    return customer_reply(sent_raw, sender, text, subject=f"Re: {_plain_subject(sent_raw)}",
                          quote=False, chain=(colleague,))


def outlook_reply(sent_raw: bytes, sender: str, text: str) -> bytes:
    """Outlook/Exchange through a gateway that dropped In-Reply-To and References: threads
    by ``thread_index`` only (the sender must be a participant of the conversation).

    Only Outlook's ``Thread-Index`` survives, one level below the helpdesk's (the app
    stamps one on its mail); subject "RE: …" without the code, no quote.
    """
    return customer_reply(sent_raw, sender, text, subject=f"RE: {_plain_subject(sent_raw)}",
                          quote=False, in_reply_to=False, references=False, thread_index=True)


def hidden_tag_reply(sent_raw: bytes, sender: str, text: str, subject: str = "One more question") -> bytes:
    """A reply whose subject was rewritten and whose quote was deleted, except the hidden
    ticket tag the HTML editor kept: threads by ``ticket_tag``.

    Rich-text editors delete what the user selects; a hidden element at the quote's edge
    stays in the HTML. No threading headers (a webmail that drops them).
    """
    tokens = carriers.find_all(carriers.TICKET_TAG_RE, parse_message(sent_raw).html_body)
    if not tokens:
        raise ValueError("the sent mail carries no hidden ticket tag (pt-ticket:…) to keep")
    return customer_reply(sent_raw, sender, text + carriers.ticket_tag_html(tokens[0]), subject=subject,
                          html=True, quote=False, in_reply_to=False, references=False)


def headerless_reply(sent_raw: bytes, sender: str, text: str) -> bytes:
    """A client that drops every threading header and the quote but keeps "Re: <subject>":
    threads by the subject ``token``."""
    return customer_reply(sent_raw, sender, text, quote=False, in_reply_to=False, references=False)


def out_of_office_reply(sent_raw: bytes, sender: str, *, keep_thread: bool = True) -> bytes:
    """An out-of-office answer (``Auto-Submitted: auto-replied``, "Automatic reply: …").

    Like Exchange, it keeps In-Reply-To/References and the subject (so it threads silently
    onto the conversation); ``keep_thread=False`` is an autoresponder that drops them and
    the code (so it threads nowhere and opens nothing). Never answered automatically.
    """
    subject = parse_message(sent_raw).subject if keep_thread else _plain_subject(sent_raw)
    return customer_reply(
        sent_raw, sender, "I am out of the office until Monday and will read your mail then.",
        subject=f"Automatic reply: {subject}", quote=False, in_reply_to=keep_thread, references=keep_thread,
        headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    )
