"""The agent's own words in a message composed in the desk: what "Save as snippet" keeps.

Frappe's composer puts below the agent's text the signature, a ``---`` separator, "On …, …
wrote:" and the quoted earlier mail (communication.js); on save, the server may append the
signature once more (``<p class="signature">``). A snippet is the text alone, whether saved
from the open composer or from a sent message on the timeline: from the separator on
everything goes, then a line that is only a snippet trigger (``!filter``, typed to open the
menu), the blocks at the end that spell a signature, and the empty lines left over.
"""

from __future__ import annotations

import html as html_lib
import re
from typing import Iterable

_TAG = re.compile(r"<!--.*?-->|<(/?)([a-zA-Z][\w:-]*)\b[^>]*?(/?)>", re.DOTALL)
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                   "wbr"})
_ANY_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_WRAPPER = re.compile(r"""^\s*<div\b[^>]*\bclass\s*=\s*["'][^"']*\bql-editor\b[^>]*>(.*)</div>\s*$""",
                      re.IGNORECASE | re.DOTALL)
SEPARATOR = "---"  # stock's separator_element, "<div>---</div>", a paragraph once Quill has it
TRIGGER = re.compile(r"^!([^\s!]*)$")  # what snippets.js opens the menu with: "!" and a filter


def _blocks(html: str) -> list[str]:
    """The top-level elements (and runs of bare text) of ``html``, in order; one linear scan,
    unbalanced tags tolerated (an unclosed element runs to the end)."""
    found, depth, start, at = [], 0, 0, 0
    for tag in _TAG.finditer(html):
        closing, name = tag.group(1), (tag.group(2) or "").lower()
        if not name or name in _VOID or tag.group(3):
            continue  # a comment, <br>, <img>: part of the text run or element around it
        if not closing:
            if depth == 0:
                if _text(html[at:tag.start()]).strip() or "<img" in html[at:tag.start()].lower():
                    found.append(html[at:tag.start()])
                start = tag.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                found.append(html[start:tag.end()])
                at = tag.end()
    tail = html[start:] if depth else html[at:]
    if depth or _text(tail).strip() or "<img" in tail.lower():
        found.append(tail)
    return found


def _text(html: str) -> str:
    return html_lib.unescape(_ANY_TAG.sub(" ", html))


def _squeezed(html: str) -> str:
    """Text without any white space: how a block is compared with a signature (markup and line
    breaks differ between the signature as stored and as the editor keeps it)."""
    return _SPACE.sub("", _text(html))


def _empty(block: str) -> bool:
    return not _squeezed(block) and "<img" not in block.lower()


def own_text(html: str, signatures: Iterable[str] = ()) -> str:
    """``html`` without the quoted earlier mail, a ``!filter`` line, a trailing signature (any of
    ``signatures``, HTML or text) and trailing empty lines; Quill's read-mode wrapper dropped."""
    blocks = _blocks(html or "")
    if blocks and (wrapper := _WRAPPER.match(blocks[0])):  # the server's signature may follow it
        blocks = _blocks(wrapper.group(1)) + blocks[1:]
    separator = next((i for i, b in enumerate(blocks) if _text(b).strip() == SEPARATOR), len(blocks))
    blocks = [b for b in blocks[:separator] if not TRIGGER.match(_text(b).strip())]
    while blocks and _empty(blocks[-1]):
        blocks.pop()
    for signature in filter(None, (_squeezed(s or "") for s in signatures)):
        at = _signature_at(blocks, signature)
        if at is not None:
            del blocks[at:]
            break
    while blocks and _empty(blocks[-1]):
        blocks.pop()
    return "".join(blocks)


def _signature_at(blocks: list[str], signature: str) -> int | None:
    """Where the last blocks together spell ``signature`` (squeezed), or None."""
    tail = ""
    for i in range(len(blocks) - 1, -1, -1):
        tail = _squeezed(blocks[i]) + tail
        if tail == signature:
            return i
        if len(tail) > len(signature):
            return None
    return None
