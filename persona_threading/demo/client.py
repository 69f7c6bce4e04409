"""A simulated customer mail client: writes replies the way real clients mangle them.

Real clients keep or drop headers, edit subjects, quote or delete the previous message.
The demo and the tests use this to answer mail the app sent, one behaviour at a time.
"""

from __future__ import annotations

import base64
import email
import os
import re
from collections.abc import Mapping
from email.message import EmailMessage
from email.policy import SMTP, compat32
from email.utils import formatdate, make_msgid, parseaddr

from ..engine.message import parse_message


def customer_reply(
    agent_raw: bytes,
    sender: str,
    text: str,
    *,
    subject: str | None = None,
    quote: bool = True,
    html: bool = False,
    in_reply_to: bool = True,
    references: bool = True,
    thread_index: bool = False,
    to: str | None = None,
    cut_visible_token: bool = False,
    chain: tuple[str, ...] = (),
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """A reply to ``agent_raw``.

    ``subject`` replaces the usual ``Re: <original subject>`` (an edited subject);
    ``quote`` keeps the original below the answer (in HTML when ``html``);
    ``in_reply_to``/``references`` keep those headers; ``thread_index`` adds an Outlook
    Thread-Index one level below the original's; ``cut_visible_token`` deletes the visible
    ``thread::…::`` text from the quote (hidden elements stay, as when a user edits it out);
    ``chain`` holds Message-IDs of later mails of the thread that the replier answers
    instead (a colleague's reply-all the helpdesk never saw): In-Reply-To names the last,
    References ends with them; ``headers`` adds header fields (an autoresponder's
    ``Auto-Submitted``).
    """
    original = parse_message(agent_raw)
    parsed = email.message_from_bytes(agent_raw, policy=compat32)
    reply = EmailMessage(policy=SMTP)
    reply["From"] = sender
    reply["To"] = to or parseaddr(parsed.get("Reply-To") or parsed.get("From", ""))[1]
    if subject is None:
        subject = original.subject if original.subject.lower().startswith("re:") else f"Re: {original.subject}"
    reply["Subject"] = subject
    reply["Date"] = formatdate()
    reply["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "customer.example")
    parent = chain[-1] if chain else original.message_id
    if in_reply_to and parent:
        reply["In-Reply-To"] = f"<{parent}>"
    if references and original.message_id:
        thread = list(original.references) + [original.message_id] + list(chain)
        reply["References"] = " ".join(f"<{m}>" for m in thread)
    if thread_index:
        parent_index = base64.b64decode(original.thread_index) if original.thread_index else os.urandom(22)
        reply["Thread-Index"] = base64.b64encode(parent_index + os.urandom(5)).decode()
    for name, value in (headers or {}).items():
        reply[name] = value
    quoted_html, quoted_text = original.html_body, original.text_body
    if cut_visible_token:
        quoted_html = re.sub(r"\[?thread::[0-9A-Za-z]+::\]?", "", quoted_html)
        quoted_text = re.sub(r"\[?thread::[0-9A-Za-z]+::\]?", "", quoted_text)
    if html:
        quoted = f"<blockquote>{quoted_html}</blockquote>" if quote else ""
        reply.set_content(f"<div>{text}</div>{quoted}", subtype="html")
    else:
        quoted = "\n".join("> " + line for line in quoted_text.splitlines()) if quote else ""
        reply.set_content(f"{text}\n\n{quoted}\n")
    return reply.as_bytes()


def new_mail(sender: str, to: str, subject: str, text: str, **headers: str) -> bytes:
    """A first message from a customer (headers given as keyword arguments, ``_`` for ``-``)."""
    mail = EmailMessage(policy=SMTP)
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate()
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "customer.example")
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(text)
    return mail.as_bytes()
