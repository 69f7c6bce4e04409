"""Stamp outgoing mail with the conversation's identifiers so replies thread back.

One function for every sender (the CLI's ``reply`` and Frappe's outbound hook): which
carriers to use is configuration (``Carriers``), how to write them is code.
"""

from __future__ import annotations

import html
import os
import re
import time
from dataclasses import dataclass
from typing import NamedTuple

from . import carriers
from .carriers import Keyring
from .thread_index import ROOT_LENGTH, encode_thread_index

MAX_SUBJECT = 128
MAX_REFERENCES_OUT = 20
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|sv)\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class Carriers:
    """Which identifiers outgoing mail carries (the admin's choice)."""

    subject_token: bool = True
    body_token: bool = True
    ticket_tag: bool = True
    subject_tag: bool = False
    plus_reply_to: bool = False


@dataclass(frozen=True)
class Stamped:
    subject: str
    text: str
    html: str
    headers: dict[str, str]


def clean_subject(subject: str) -> str:
    """The subject without our own carriers or reply prefixes, whitespace collapsed."""
    subject = carriers.THREAD_TOKEN_RE.sub("", subject or "")
    subject = carriers.SUBJECT_TAG_RE.sub("", subject)
    subject = _REPLY_PREFIX.sub("", subject)
    return " ".join(subject.split())


def fit_subject(base: str, suffix: str, limit: int = MAX_SUBJECT) -> str:
    """``base suffix`` in at most ``limit`` characters; ``base`` is shortened, ``suffix`` kept."""
    suffix = suffix.strip()
    room = limit - len(suffix) - (1 if suffix else 0)
    if len(base) > room:
        base = base[: max(room - 1, 0)].rstrip() + "…" if room > 0 else ""
    return f"{base} {suffix}".strip() if suffix else base[:limit]


def new_thread_root() -> str:
    """A fresh Outlook thread root (6-byte FILETIME + 16 random bytes), as hex."""
    filetime = int((time.time() + 11644473600) * 10_000_000)
    return (filetime.to_bytes(8, "big")[:6] + os.urandom(ROOT_LENGTH - 6)).hex()


def stamp(
    *,
    key: str,
    keyring: Keyring,
    subject: str,
    text: str,
    html_body: str | None = None,
    reply: bool = True,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    thread_root: str | None = None,
    reply_to: str | None = None,
    use: Carriers = Carriers(),
) -> Stamped:
    """Subject, bodies and threading headers for one outgoing message of a conversation."""
    token = keyring.token(key)
    suffix = " ".join(
        part
        for enabled, part in (
            (use.subject_tag, carriers.subject_tag(token)),
            (use.subject_token, carriers.thread_token(token)),
        )
        if enabled
    )
    base = clean_subject(subject)
    if reply and base:
        base = f"Re: {base}"
    out_subject = fit_subject(base, suffix)

    footer = f"\n\n{carriers.body_token_text(token)}" if use.body_token else ""
    out_text = (text or "").rstrip() + footer
    if html_body is None:
        html_body = "<div>" + html.escape(text or "").replace("\n", "<br>\n") + "</div>"
    html_footer = ""
    if use.body_token:
        html_footer += carriers.body_token_html(token)
    if use.ticket_tag:
        html_footer += carriers.ticket_tag_html(token)
    out_html = html_body + html_footer

    headers = threading_headers(token=token, in_reply_to=in_reply_to, references=references,
                                thread_root=thread_root, reply=reply, reply_to=reply_to, use=use)
    return Stamped(out_subject, out_text, out_html, headers)


class Unstamped(NamedTuple):
    """A stamped mail's subject and bodies without their carriers (see ``strip_carriers``)."""

    subject: str
    text: str
    html: str


def _rendered(render) -> str:
    """A regex matching exactly what ``render(token)`` writes, for any token."""
    return re.escape(render("\0")).replace("\0", carriers.TOKEN_PATTERN)


_STAMPED_HTML = re.compile(f"{_rendered(carriers.body_token_html)}|{_rendered(carriers.ticket_tag_html)}")
_BODY_TOKEN_LINE = re.compile(rf"(?m)^[ \t]*{_rendered(carriers.body_token_text)}[ \t]*(?:\r?\n|\Z)")
_ANY_CARRIER = re.compile(rf"\[?thread::{carriers.TOKEN_PATTERN}::\]?|\[ID-{carriers.TOKEN_PATTERN}\]"
                          rf"|pt-ticket:{carriers.TOKEN_PATTERN}")


def strip_carriers(subject: str, body_text: str | None = None, body_html: str | None = None) -> Unstamped:
    """A stamped mail's subject and bodies as people should read them: without carriers.

    Removes everything ``stamp`` adds (the subject token and ``[ID-…]`` tag, the body
    token's footer line in text and HTML, the hidden HTML ticket tag), and any such token
    left elsewhere (a client may quote or re-wrap it). For what a ticket's feed stores and
    shows: the mail that is sent keeps its carriers, and a routing explanation may name them.
    """
    shown_subject = " ".join(_ANY_CARRIER.sub(" ", subject or "").split())
    shown_text = _ANY_CARRIER.sub("", _BODY_TOKEN_LINE.sub("", body_text or "")).rstrip()
    shown_html = _ANY_CARRIER.sub("", _STAMPED_HTML.sub("", body_html or ""))
    return Unstamped(shown_subject, shown_text, shown_html)


def threading_headers(
    *,
    token: str,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    thread_root: str | None = None,
    reply: bool = True,
    reply_to: str | None = None,
    use: Carriers = Carriers(),
) -> dict[str, str]:
    """In-Reply-To, References, Thread-Index and a plus-addressed Reply-To for one message."""
    headers: dict[str, str] = {}
    if in_reply_to:
        headers["In-Reply-To"] = f"<{in_reply_to}>"
    refs = [r for r in references if r][-MAX_REFERENCES_OUT:]
    if in_reply_to and in_reply_to not in refs:
        refs.append(in_reply_to)
    if refs:
        headers["References"] = " ".join(f"<{r}>" for r in refs)
    if thread_root:
        headers["Thread-Index"] = encode_thread_index(thread_root, replies=1 if reply else 0)
    if use.plus_reply_to and reply_to:
        headers["Reply-To"] = carriers.plus_address(reply_to, token)
    return headers
