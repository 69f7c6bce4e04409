"""Parse raw email bytes into an InboundMessage.

Routing mostly needs headers, so the hot path is a ``compat32`` header-only parse (about
five times faster than ``policy.default``, measured by ``make bench``). The body is parsed
lazily, only when a rule asks for it. Nothing here raises on bad input: every problem is
recorded in ``defects`` and parsing carries on with what it could read, like the stdlib
parser itself does.
"""

from __future__ import annotations

import email.header
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from email import policy as email_policy
from email.message import Message
from email.parser import BytesHeaderParser
from functools import cached_property

from . import body
from .decoding import decode_header_value, unescape

#: At most this many References ids are kept (the newest, i.e. the last ones).
MAX_REFERENCES = 100
#: Every header value is cut to this many characters when the message is parsed, before any
#: decoding or regex sees it, so the cost of a mail is linear in its size whatever a sender
#: writes. Address lists and References get more room; References keeps its end (the newest).
MAX_HEADER_CHARS = 4096
MAX_ADDRESS_HEADER_CHARS = 8192
MAX_REFERENCES_CHARS = 32768
_ADDRESS_HEADERS = frozenset({"from", "sender", "return-path", "to", "cc", "delivered-to", "x-original-to"})
#: Longest Message-ID we accept: what the stores index (real ids are far shorter; a longer
#: one is treated as unusable and the mail gets a derived id, see derived_message_id).
MAX_MESSAGE_ID = 255

#: The domain of the ids given to mail without a usable Message-ID (``.invalid``: RFC 2606,
#: never a real domain, so no sender's id can collide with one by accident).
DERIVED_ID_DOMAIN = "persona-threading.invalid"

_ANGLE_ID = re.compile(r"<\s*([^<>\s]+?)\s*>")
_BARE_ID = re.compile(r"^[^\s<>@]+@[^\s<>@]+$")

#: What ends a header block (the first blank line), by line-ending style: CRLF mail first.
_BLANK_LINES = {True: (b"\r\n\r\n", b"\n\n", b"\r\r"), False: (b"\n\n", b"\r\n\r\n", b"\r\r")}
# The one-address forms, for fullmatch on a stripped part: "Name" <a@b>, Name <a@b>, a@b.
# Linear: no two quantifiers compete for the same characters.
_SIMPLE_ADDRESS = re.compile(
    r'(?:"([^"<>\\]*)"\s*|([^"<>,;]*))<\s*([^<>\s,;"]+@[^<>\s,;"]+)\s*>|([^<>\s,;"]+@[^<>\s,;"]+)')

_COMPAT32 = email_policy.compat32
_HEADER_PARSER = BytesHeaderParser(policy=_COMPAT32)


def _fetch(name: str, value: str):
    """compat32's header_fetch_parse, skipped for plain ASCII (where it changes nothing)."""
    return value if value.isascii() else _COMPAT32.header_fetch_parse(name, value)


def _parse_addresses(values: list[str]) -> list[tuple[str, str]]:
    """``getaddresses``, with a regex fast path for the common one-address forms."""
    pairs = []
    for value in values:
        # Without quotes or groups a comma separates addresses; each part may be simple.
        parts = value.split(",") if '"' not in value and ":" not in value else [value]
        simple = [_SIMPLE_ADDRESS.fullmatch(part.strip()) for part in parts]
        if all(simple):
            pairs.extend(((m.group(1) if m.group(1) is not None else (m.group(2) or "").strip()),
                          m.group(3) or m.group(4)) for m in simple)
        else:
            pairs.extend(email.utils.getaddresses([value]))
    return pairs


def _capped(name: str, key: str, value, defects: list[str]):
    """A raw header value cut to its cap (see MAX_HEADER_CHARS); the cut is a defect.
    ``key``: the lower-cased name."""
    if not isinstance(value, str) or len(value) <= MAX_HEADER_CHARS:  # the smallest cap: most
        return value  # values end here, without looking at the name
    if key == "references":
        if len(value) > MAX_REFERENCES_CHARS:
            defects.append(f"References header of {len(value)} characters; kept the last {MAX_REFERENCES_CHARS}")
            return value[-MAX_REFERENCES_CHARS:]
        return value
    cap = MAX_ADDRESS_HEADER_CHARS if key in _ADDRESS_HEADERS else MAX_HEADER_CHARS
    if len(value) > cap:
        defects.append(f"{name} header of {len(value)} characters; kept the first {cap}")
        return value[:cap]
    return value


def _header_end(raw: bytes) -> int:
    """Just past the first blank line (CRLF CRLF, LF LF or CR CR), or -1 without one.

    Bounded bytes.find() calls, the likeliest separator first (it ends the others' search
    early): faster than one regex alternation, which the regex engine tries at every byte.
    """
    first_lf = raw.find(b"\n")
    crlf = first_lf > 0 and raw[first_lf - 1:first_lf] == b"\r"
    start, width = -1, 0
    for blank in _BLANK_LINES[crlf]:
        # Only a separator starting before the one found so far can be the first.
        at = raw.find(blank, 0, len(raw) if start < 0 else start + len(blank) - 1)
        if at >= 0:
            start, width = at, len(blank)
    return start + width if start >= 0 else -1


def content_digest(raw: bytes) -> str:
    """SHA-256 of the mail with line endings normalised (CRLF and CR become LF) and trailing
    line breaks dropped: the same mail read from an mbox, a Maildir or IMAP has one digest."""
    normalized = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").rstrip(b"\n")
    return hashlib.sha256(normalized).hexdigest()


def derived_message_id(raw: bytes) -> str:
    """A stable id for mail without a usable Message-ID, from its content: a re-run after a
    crash finds the same id, so the mail is stored once."""
    return f"{content_digest(raw)[:32]}@{DERIVED_ID_DOMAIN}"


def normalize_message_id(value: str | None) -> str | None:
    """``<abc@x>`` -> ``abc@x``; anything unusable -> None."""
    ids = extract_message_ids(value or "")
    return ids[0] if ids else None


def extract_message_ids(value: str) -> list[str]:
    """All Message-IDs in a header value, in order, de-duplicated.

    Accepts ``<id>`` anywhere in the value (so ``<id>; from X on ...`` works) and, when no
    angle-bracketed id is present, a single bare ``local@domain`` token.
    """
    found = _ANGLE_ID.findall(value)
    if not found:
        bare = value.strip()
        if _BARE_ID.match(bare):
            found = [bare]
    seen: set[str] = set()
    ids = []
    for mid in found:
        if len(mid) > MAX_MESSAGE_ID or mid in seen:
            continue
        seen.add(mid)
        ids.append(mid)
    return ids


@dataclass
class InboundMessage:
    """One email as the engine sees it. Headers are read eagerly, the body on demand."""

    raw: bytes
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_addr: str  # From, else Sender, else Return-Path: who to show and answer
    raw_from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    delivered_to: tuple[str, ...]
    thread_index: str | None
    defects: list[str] = field(default_factory=list)
    #: The From header's single address (DMARC's RFC5322.From), never a Sender/Return-Path
    #: fallback: the only address privileged decisions (agent status, outbound) may use.
    header_from: str = ""
    _headers: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _body_start: int = field(default=-1, repr=False)  # where the header block ended, -1: no body

    @property
    def from_name(self) -> str:
        return decode_header_value(self.raw_from_name)

    @property
    def date(self) -> str:
        return self.header("Date") or ""

    @property
    def header_names(self):
        """Lower-cased names of the headers present (a view, no copy)."""
        return self._headers.keys()

    def raw_header_values(self, name: str) -> list[str]:
        """Every occurrence of a header, top first, as written (capped, not decoded)."""
        return [str(v) for v in self._headers.get(name.lower(), ())]

    @cached_property
    def content_digest(self) -> str:
        """The mail's content digest (see content_digest()): tells a re-delivery of this mail
        from another mail that reuses its Message-ID."""
        return content_digest(self.raw)

    def header(self, name: str) -> str | None:
        """A decoded header value (first occurrence), or None when absent."""
        values = self._headers.get(name.lower())
        if not values:
            return None
        return decode_header_value(_fetch(name, values[0]))

    @property
    def recipients(self) -> tuple[str, ...]:
        """Every address the mail was delivered to: To, Cc and Delivered-To."""
        return self.to + self.cc + self.delivered_to

    @cached_property
    def body_haystack(self) -> str:
        """The body as text to search for carriers, without a MIME parse.

        Carriers are ASCII and every hit is MAC-verified, so a cheap haystack is enough:
        the raw body with quoted-printable soft line breaks undone, plus every base64 part
        decoded (binascii, C speed), within the first ``MAX_SCAN_BYTES`` of the mail. This
        keeps the hot path ~10x faster than parsing the body (``make bench`` measures it).
        """
        return body.carrier_haystack(self.raw, self._body_start, self.defects)

    @cached_property
    def _body(self) -> tuple[str, str]:
        return body.read_body(self.raw, self.defects)

    @property
    def text_body(self) -> str:
        """The first text/plain part, decoded (empty when there is none)."""
        return self._body[0]

    @property
    def html_body(self) -> str:
        """The first text/html part, decoded (empty when there is none)."""
        return self._body[1]

    @cached_property
    def text(self) -> str:
        """Readable text: the plain part, else the HTML part converted by html2text."""
        if self.text_body.strip():
            return self.text_body
        if self.html_body:
            return body.html_to_text(self.html_body)
        return ""


def is_email(message: InboundMessage) -> bool:
    """Bytes without a single header field (empty input, an image, binary junk) are no email."""
    return bool(message.header_names)


def parse_message(raw: bytes | str) -> InboundMessage:
    """Parse raw bytes; never raises. Problems become ``defects``."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    defects: list[str] = []
    end = _header_end(raw)
    try:  # only the header block: the header parser would otherwise walk every body line
        headers = _HEADER_PARSER.parsebytes(raw[:end] if end >= 0 else raw)
    except Exception as exc:  # pragma: no cover - the stdlib parser is very forgiving
        defects.append(f"unparseable message: {exc.__class__.__name__}")
        headers = Message()
    defects.extend(type(d).__name__ for d in headers.defects)

    index: dict[str, list] = {}
    for name, value in headers.raw_items():  # one pass; get_all() rescans every header
        key = name.lower()
        index.setdefault(key, []).append(_capped(name, key, value, defects))

    def values_of(name: str) -> list:
        return [_fetch(name, v) for v in index.get(name.lower(), ())]

    def get(name: str) -> str:
        values = index.get(name.lower())
        if not values:
            return ""
        return decode_header_value(_fetch(name, values[0]), defects)

    def addresses(*names: str) -> list[tuple[str, str]]:
        values, budget = [], MAX_ADDRESS_HEADER_CHARS  # for all occurrences together
        for name in names:
            for value in values_of(name):
                value = str(value)
                if len(value) > budget:
                    defects.append(f"{name}: more than {MAX_ADDRESS_HEADER_CHARS} characters of "
                                   "addresses; the rest is not read")
                    value = value[:budget]
                values.append(value)
                budget -= len(value)
                if not budget:
                    break
        if not values:  # the header is absent (Cc, Delivered-To, Sender are, mostly)
            return []
        try:
            pairs = _parse_addresses(values)
        except Exception:
            defects.append(f"malformed address header {names[0]}")
            return []
        out = []
        for name, addr in pairs:
            addr = unescape(addr).strip()
            if "@" in addr:
                # Local parts keep their case: plus-address tokens are case-sensitive.
                local, _, domain = addr.rpartition("@")
                out.append((name, f"{local}@{domain.lower()}"))
        return out

    raw_mid = get("Message-ID")
    message_id = normalize_message_id(raw_mid)
    if not message_id:
        message_id = derived_message_id(raw)
        defects.append(f"{'malformed' if raw_mid else 'missing'} Message-ID; stored as <{message_id}>"
                       " (derived from the content)")

    references = extract_message_ids(get("References"))
    if len(references) > MAX_REFERENCES:
        defects.append(f"References has {len(references)} ids; kept the newest {MAX_REFERENCES}")
        references = references[-MAX_REFERENCES:]

    authors = addresses("From")
    header_from = authors[0][1].lower() if len(authors) == 1 else ""
    if len(authors) > 1:
        defects.append(f"From names {len(authors)} addresses; none is trusted as the author")
    senders = authors or addresses("Sender") or addresses("Return-Path")
    from_name, from_addr = senders[0] if senders else ("", "")
    from_addr = from_addr.lower()  # display names are decoded on demand (InboundMessage.from_name)
    if not from_addr:
        defects.append("no usable From address")

    return InboundMessage(
        raw=raw,
        message_id=message_id,
        in_reply_to=tuple(extract_message_ids(get("In-Reply-To"))),
        references=tuple(references),
        subject=get("Subject"),
        from_addr=from_addr,
        raw_from_name=from_name,
        to=tuple(a for _, a in addresses("To")),
        cc=tuple(a for _, a in addresses("Cc")),
        delivered_to=tuple(a for _, a in addresses("Delivered-To", "X-Original-To")),
        thread_index=get("Thread-Index").strip() or None,
        defects=defects,
        header_from=header_from,
        _headers=index,
        _body_start=end,
    )
