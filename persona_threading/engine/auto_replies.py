"""Recognise machine-written mail (out-of-office replies, bounces) for loop protection.

Such mail may thread onto a conversation (an agent wants to see that a customer is away or
that a reply bounced), but it never opens a conversation, never triggers an auto-reply and
never resumes or reopens a ticket. Signals follow RFC 3834 and RFC 3464 plus the headers
Exchange, Apple Mail and common autoresponders add.
"""

from __future__ import annotations

import re

from .message import InboundMessage

_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto[- ]?reply|autoreply|auto:|out of (the )?office|"
    r"undeliverable|undelivered mail|delivery status notification|mail delivery failed|"
    r"returned mail|delivery failure|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique)",
    re.IGNORECASE,
)
_SIGNAL_HEADERS = frozenset({"auto-submitted", "x-autoreply", "x-autorespond", "x-auto-reply",
                             "x-autoresponder", "precedence", "x-precedence"})
_SYSTEM_SENDER = re.compile(r"^(mailer-daemon|postmaster|mail-daemon)@", re.IGNORECASE)


def auto_reply_reason(message: InboundMessage) -> str | None:
    """Why this mail looks machine-written, or None when it looks human."""
    present = _SIGNAL_HEADERS.intersection(message.header_names)
    if "auto-submitted" in present:
        auto_submitted = (message.header("Auto-Submitted") or "").strip().lower()
        if auto_submitted and not auto_submitted.startswith("no"):
            return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply", "X-Autoresponder"):
        if name.lower() in present:
            return f"{name} header"
    for name in ("Precedence", "X-Precedence"):
        if name.lower() not in present:
            continue
        value = (message.header(name) or "").strip().lower()
        if value in ("bulk", "junk", "auto_reply", "auto-reply"):
            return f"{name}: {value}"
    content_type = (message.header("Content-Type") or "").lower()
    if content_type.startswith("multipart/report"):
        return "delivery or disposition report (multipart/report)"
    if _SYSTEM_SENDER.match(message.from_addr):
        return f"sent by {message.from_addr}"
    if (message.header("Return-Path") or "").strip() == "<>":
        return "null return path (bounce)"
    if _AUTO_SUBJECT.match(message.subject):
        return f"subject {message.subject[:60]!r} is an autoresponder's"
    return None
