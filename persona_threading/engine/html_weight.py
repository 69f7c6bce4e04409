"""How much work an HTML body makes for Frappe's cleaners, counted in one linear pass.

Frappe cleans received HTML with BeautifulSoup (html5lib) and bleach, which both build the
tree as HTML5 says: a formatting element (``<b>``, ``<font>``, ``<i>`` …) still open when its
paragraph, list item or block ends is opened again inside the next one, with all the others
still open before it. A body whose paragraphs each leave one open makes them build and write
out a number of elements that grows with the square of the paragraphs: 400 ``<p><b>…`` (9 KB)
came out as 570 KB after 3.3 s, 800 after 14 s (measured with Frappe 15's clean_email_html).
Mail does that when a mailer is broken or a sender wants to stall a worker. Such a body is
read as text instead (frappe_adapter.email_account), well before the cleaners' cost shows.
"""

from __future__ import annotations

import re

#: What HTML5 reopens in the next block (its "formatting" elements), without ``<a>``: an
#: unclosed link ends at the next one and piles nothing up (measured).
FORMATTING = ("b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u")
_FORMATTING_TAG = re.compile(r"<(/?)(" + "|".join(FORMATTING) + r")(?=[\s/>])", re.IGNORECASE)

#: More formatting elements left open than this and the body is read as text (64: a tenth of a
#: second in Frappe's cleaners; mail written by mail clients leaves a handful at most).
MAX_UNCLOSED_FORMATTING = 64


def unclosed_formatting(html: str) -> int:
    """Formatting start tags without their end tag (per element: a stray end tag closes
    nothing). ``</b"x">`` is no end tag of ``<b>`` (HTML reads its name as ``b"x"``)."""
    still_open: dict[str, int] = {}
    for end, name in _FORMATTING_TAG.findall(html):
        name = name.lower()
        if not end:
            still_open[name] = still_open.get(name, 0) + 1
        elif still_open.get(name):
            still_open[name] -= 1
    return sum(still_open.values())


def too_many_unclosed(html: str, limit: int = MAX_UNCLOSED_FORMATTING) -> bool:
    return unclosed_formatting(html) > limit
