"""One merge-code renderer for auto-replies and snippets: ``{{ issue.customer.customer_name }}``.

A code is a dotted path from a root (``issue``, ``conversation``) through fields; a field
that is a Link continues on the linked document, several levels deep. Nothing is
evaluated (no Jinja, no eval): each segment is a plain field lookup through a Resolver the
adapter supplies (Frappe: ``frappe.get_cached_value`` and the DocType meta; tests: dicts).

An unknown or empty code never raises: auto-replies render it as empty text, snippets
leave it visible as written so the agent sees what to fill in; both list it. Work is
bounded: template size, path depth, lookups per render and output size.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Mapping, Protocol

EMPTY, AS_WRITTEN = "empty", "as_written"  # what an unknown or empty code renders as
MAX_OUTPUT_CHARS = 200_000
MAX_TEMPLATE_CHARS = 1_000_000  # read at most this much of a template (codes may render empty)
MAX_DEPTH = 6  # segments in one path: issue.customer.territory.parent... at most this long
MAX_LOOKUPS = 500  # resolver calls per render
MAX_VALUE_CHARS = 10_000

_CODE = re.compile(r"\{\{([^{}]{0,200})\}\}")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,139}")


@dataclass(frozen=True)
class DocRef:
    """A stored document the resolver can read: (doctype, name)."""

    doctype: str
    name: str


class Resolver(Protocol):
    """What the renderer may ask of storage: which fields exist, which are Links, values.

    Frappe: ``has_field`` is ``field == "name" or frappe.get_meta(doctype).has_field(field)``;
    ``link_doctype`` is the field's ``options`` when its fieldtype is "Link"; ``value`` is
    ``frappe.get_cached_value(doctype, name, field)``.
    """

    def has_field(self, doctype: str, field: str) -> bool:
        """Whether ``doctype`` has this field (an unknown one renders as unknown, not empty)."""

    def value(self, doctype: str, name: str, field: str) -> object | None:
        """The field's value on that document; None when the document or field does not exist."""

    def link_doctype(self, doctype: str, field: str) -> str | None:
        """The DocType a Link field of ``doctype`` points to; None when it is not a Link."""


@dataclass
class Rendered:
    text: str
    unknown: list[str] = field(default_factory=list)  # codes naming nothing (e.g. "issue.nope")
    empty: list[str] = field(default_factory=list)  # codes that exist but hold no value
    truncated: bool = False  # the output was cut at MAX_OUTPUT_CHARS


class _Missing:
    """A path that names nothing (distinct from a field that is empty)."""


MISSING = _Missing()


def render(template: str, roots: Mapping[str, object], resolver: Resolver | None = None, *,
           unknown: str = EMPTY, as_html: bool = False) -> Rendered:
    """Fill every ``{{ path }}`` in ``template``.

    ``roots`` maps a first segment to a DocRef (read through ``resolver``) or to a plain
    mapping (read directly; a DocRef inside it continues through the resolver).
    ``unknown`` is ``EMPTY`` (auto-replies) or ``AS_WRITTEN`` (snippets); ``as_html``
    HTML-escapes values (the template's own text is left alone).
    """
    result = Rendered("")
    lookups = [0]
    cache: dict[tuple, object] = {}
    template = template if isinstance(template, str) else ""
    text = template[:MAX_TEMPLATE_CHARS]
    pieces: list[str] = []
    size, last, full = 0, 0, False

    def add(piece: str) -> None:
        nonlocal size, full
        if size + len(piece) > MAX_OUTPUT_CHARS:
            piece, full = piece[:MAX_OUTPUT_CHARS - size], True
        pieces.append(piece)
        size += len(piece)

    for match in _CODE.finditer(text):
        path = match.group(1).strip()
        value = _resolve(path, roots, resolver, cache, lookups)
        if value is MISSING or value == "":
            (result.unknown if value is MISSING else result.empty).append(path)
            shown = match.group(0) if unknown == AS_WRITTEN else ""
        else:
            shown = html.escape(value) if as_html else value
        add(text[last:match.start()])
        add(shown)
        last = match.end()
        if full:
            break
    if not full:
        add(text[last:])
    result.text = "".join(pieces)
    result.truncated = full or len(template) > MAX_TEMPLATE_CHARS
    return result


class FieldReader:
    """Field lookups for another renderer (the Frappe adapter's Jinja context): the same Link
    following, cache and lookup budget as ``render``."""

    def __init__(self, resolver: Resolver | None):
        self.resolver, self.cache, self.lookups = resolver, {}, [0]

    def field(self, ref: DocRef, name: str) -> object:
        """A DocRef when the field is a Link with a value, else its value; MISSING when it
        names nothing (or the budget is spent)."""
        if not _FIELD.fullmatch(name or ""):
            return MISSING
        return _field_of(ref, name, self.resolver, self.cache, self.lookups)


def _resolve(path: str, roots: Mapping[str, object], resolver: Resolver | None, cache: dict,
             lookups: list[int]) -> str | _Missing:
    """The text a path names, "" for an empty value, MISSING when it names nothing."""
    segments = path.split(".")
    if not path or len(segments) > MAX_DEPTH or not all(_FIELD.fullmatch(s) for s in segments):
        return MISSING
    if segments[0] not in roots:
        return MISSING
    current: object = roots[segments[0]]
    for segment in segments[1:]:
        if isinstance(current, DocRef):
            current = _field_of(current, segment, resolver, cache, lookups)
        elif isinstance(current, Mapping):
            current = current.get(segment, MISSING)
        else:  # a plain value has no fields
            return MISSING
        if current is MISSING:
            return MISSING
        if current is None:
            return ""
    return _as_text(current)


def _field_of(ref: DocRef, name: str, resolver: Resolver | None, cache: dict, lookups: list[int]) -> object:
    """A document's field: a DocRef when it is a Link with a value, else its value."""
    key = (ref.doctype, ref.name, name)
    if key in cache:
        return cache[key]
    if resolver is None or lookups[0] >= MAX_LOOKUPS:
        return MISSING
    lookups[0] += 1
    try:
        if not resolver.has_field(ref.doctype, name):
            value = MISSING
        else:
            value = resolver.value(ref.doctype, ref.name, name)
            target = resolver.link_doctype(ref.doctype, name)
            if target and value not in (None, ""):
                value = DocRef(target, str(value))
    except Exception:  # a resolver failure renders as unknown, never as a crash
        value = MISSING
    cache[key] = value
    return value


def _as_text(value: object) -> str | _Missing:
    """Scalars render as text; a Link renders as the linked document's name."""
    if isinstance(value, DocRef):
        return value.name[:MAX_VALUE_CHARS]
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (str, int, float)):
        return str(value)[:MAX_VALUE_CHARS]
    if value is None:
        return ""
    if isinstance(value, (Mapping, list, tuple, set)):
        return MISSING  # a table or a record is not a value to print
    return str(value)[:MAX_VALUE_CHARS]  # dates, decimals
