"""Quoted history in an outgoing reply: private messages never go out inside a quote.

A composer quotes the last mail of the conversation (Frappe's puts it in a ``<blockquote>``).
When that mail was an internal note or a third party's private reply, a public reply would
carry it to the customer. ``drop_private_quotes`` removes every top-level blockquote whose
text contains a private message's text; the rest of the reply is untouched.
"""

from __future__ import annotations

import re

from .body import html_to_text

_BLOCKQUOTE_TAG = re.compile(r"<(/?)blockquote\b[^>]*>", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_MARKUP = re.compile(r"[*_>#`\[\]\\]")  # what html2text adds around words
MIN_QUOTED = 8        # shorter texts ("ok") would match innocent quotes
QUOTED_PREFIX = 200   # a private message is recognised by its first characters


def _normal(text: str) -> str:
    return _SPACE.sub(" ", _MARKUP.sub(" ", text)).strip().lower()


def _fingerprints(private_texts) -> list[str]:
    found = {_normal(t)[:QUOTED_PREFIX] for t in private_texts if t}
    return [f for f in found if len(f) >= MIN_QUOTED]


def _top_level_blockquotes(html: str) -> list[tuple[int, int]]:
    """(start, end) of each outermost blockquote; one linear scan, unbalanced tags tolerated."""
    spans, depth, start = [], 0, 0
    for tag in _BLOCKQUOTE_TAG.finditer(html):
        if not tag.group(1):
            if depth == 0:
                start = tag.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                spans.append((start, tag.end()))
    if depth:  # an unclosed quote runs to the end
        spans.append((start, len(html)))
    return spans


def drop_private_quotes(html: str, private_texts) -> tuple[str, int]:
    """The reply without quotes of private messages, and how many quotes were removed."""
    fingerprints = _fingerprints(private_texts)
    if not fingerprints or "<blockquote" not in html.lower():
        return html, 0
    kept, at, removed = [], 0, 0
    for start, end in _top_level_blockquotes(html):
        quoted = _normal(html_to_text(html[start:end]))
        if any(f in quoted for f in fingerprints):
            kept.append(html[at:start])
            at, removed = end, removed + 1
    kept.append(html[at:])
    return "".join(kept), removed
