"""How much work an HTML body makes for Frappe's cleaners, estimated in one linear pass.

Frappe cleans received HTML with BeautifulSoup (html5lib) and bleach, which both build the
tree as HTML5 says: a formatting element (``<b>``, ``<font>``, ``<i>`` …) still open when its
paragraph, list item or other block ends is opened again in the next one, and again in the
one after. The elements they build grow with (formatting elements left open) × (blocks after
them): 400 ``<p><b>…`` (9 KB) came out as 570 KB after 3.3 s, 64 ``<b>`` left open in the
first of 2,000 paragraphs (9 KB) as 2 MB after 11 s (Frappe 15's clean_email_html). Mail
does that when a mailer is broken or a sender wants to stall a worker. Past a bound such a
body is read as text instead (frappe_adapter.email_account), before the cleaners start.
"""

from __future__ import annotations

import re

#: What HTML5 reopens in the next block (its "formatting" elements), without ``<a>``: an
#: unclosed link ends at the next one and piles nothing up (measured).
FORMATTING = frozenset({"b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u"})
#: What ends a paragraph, or starts a block of its own, so that what is open is opened again.
BLOCKS = frozenset({"address", "article", "aside", "blockquote", "center", "dd", "details", "dir", "div", "dl", "dt",
                    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
                    "header", "hr", "li", "main", "menu", "nav", "ol", "p", "pre", "section", "table", "td", "th",
                    "tr", "ul"})
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^<>]*)")

#: Past this many elements rebuilt, the body is read as text (60-95 microseconds each in
#: Frappe's cleaners here, so some 0.7 s; mail written by mail clients leaves next to
#: nothing open: an Outlook reply of 300 paragraphs rebuilds none).
MAX_REBUILT = 8000


def rebuilt_elements(html: str) -> int:
    """How many formatting elements the HTML5 tree builder opens again: for every block
    start, those still open before it (HTML5's limit of three copies of one start tag does not
    keep the rebuilt copies from piling up: measured). ``</b"x">`` closes nothing (HTML
    reads its name as ``b"x"``)."""
    still_open: dict[str, int] = {}
    now_open = rebuilt = 0
    for end, name, rest in _TAG.findall(html):
        name = name.lower()
        if name in FORMATTING:
            if rest and rest[0] not in " \t\n\r\f/":
                continue  # "</b"x">": another name
            if not end:
                still_open[name] = still_open.get(name, 0) + 1
                now_open += 1
            elif still_open.get(name):
                still_open[name] -= 1
                now_open -= 1
        elif not end and name in BLOCKS:
            rebuilt += now_open
    return rebuilt


def too_heavy_to_clean(html: str, limit: int = MAX_REBUILT) -> bool:
    return rebuilt_elements(html) > limit
