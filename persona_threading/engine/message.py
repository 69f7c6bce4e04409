"""Parse raw email bytes into an InboundMessage.

Routing mostly needs headers, so the hot path is a ``compat32`` header-only parse (about
five times faster than ``policy.default``, measured by ``make bench``). The body is parsed
lazily, only when a rule asks for it. Nothing here raises on bad input: every problem is
recorded in ``defects`` and parsing carries on with what it could read, like the stdlib
parser itself does.
"""

from __future__ import annotations

import binascii
import email.header
import email.utils
import re
from dataclasses import dataclass, field
from email import policy as email_policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from functools import cached_property

#: At most this many References ids are kept (the newest, i.e. the last ones).
MAX_REFERENCES = 100
#: Carriers sit in a reply's first text parts; decoding stops after this many base64 ones.
MAX_DECODED_PARTS = 8
#: ...and only the first this-many bytes of a mail are searched (attachments come last).
MAX_SCAN_BYTES = 1 << 20
#: Longer header values are cut (References is capped by id count instead).
MAX_HEADER_CHARS = 4096
#: Longest Message-ID we accept (RFC 5322 lines stop at 998 characters).
MAX_MESSAGE_ID = 998

_ANGLE_ID = re.compile(r"<\s*([^<>\s]+?)\s*>")
_BARE_ID = re.compile(r"^[^\s<>@]+@[^\s<>@]+$")

_QP_SOFT_BREAK = re.compile(rb"=(?:\r\n|\n|\r)")
_BASE64_HEADER = re.compile(rb"(?i)content-transfer-encoding:[ \t]*\"?base64")
_TEXT_PART = re.compile(rb"(?i)content-type:[ \t]*text/")
_HEADER_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_SURROGATE = re.compile("[\udc80-\udcff]")
_SIMPLE_ADDRESS = re.compile(r'^\s*(?:"?([^"<>,;]*?)"?\s*<\s*([^<>\s,;"]+@[^<>\s,;"]+)\s*>|([^<>\s,;"]+@[^<>\s,;"]+))\s*$')
_FOLD = re.compile(r"\r?\n[ \t]*|\r[ \t]*")

_COMPAT32 = email_policy.compat32
_HEADER_PARSER = BytesHeaderParser(policy=_COMPAT32)
_FULL_PARSER = BytesParser(policy=email_policy.compat32)


def decode_header_value(value: object, defects: list[str] | None = None) -> str:
    """RFC 2047-decode a compat32 header value, never raising on bad charsets."""
    if value is None:
        return ""
    if isinstance(value, str) and value.isascii() and "=?" not in value:
        return _unfold(value) if "\n" in value or "\r" in value else value.strip()
    text = value if isinstance(value, email.header.Header) else str(value)
    try:
        parts = email.header.decode_header(text)
    except Exception:  # malformed encoded-word: keep the raw text
        if defects is not None:
            defects.append("undecodable encoded-word in header")
        return _unfold(_unescape(str(text)))
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, charset, defects))
        else:
            out.append(_unescape(chunk))
    return _unfold("".join(out))


def decode_bytes(data: bytes, charset: str | None, defects: list[str] | None = None) -> str:
    """Decode bytes by a declared charset, falling back to utf-8 then latin-1."""
    for candidate in (charset, "utf-8"):
        if not candidate or candidate == "unknown-8bit":
            continue
        try:
            return data.decode(candidate)
        except LookupError:
            if defects is not None:
                defects.append(f"unknown charset {candidate!r}")
        except UnicodeDecodeError:
            if defects is not None and candidate == charset:
                defects.append(f"bytes not valid in declared charset {candidate!r}")
    return data.decode("latin-1")


def _unescape(text: str) -> str:
    """compat32 keeps undecodable 8-bit header bytes as surrogates: recover them."""
    if not text.isascii() and _SURROGATE.search(text):
        raw = text.encode("utf-8", "surrogateescape")
        return decode_bytes(raw, "utf-8")
    return text


def _unfold(text: str) -> str:
    return _FOLD.sub(" ", text).strip()


def _fetch(name: str, value: str):
    """compat32's header_fetch_parse, skipped for plain ASCII (where it changes nothing)."""
    return value if value.isascii() else _COMPAT32.header_fetch_parse(name, value)


def _parse_addresses(values: list[str]) -> list[tuple[str, str]]:
    """``getaddresses``, with a regex fast path for the common one-address forms."""
    pairs = []
    for value in values:
        # Without quotes or groups a comma separates addresses; each part may be simple.
        parts = value.split(",") if '"' not in value and ":" not in value else [value]
        simple = [_SIMPLE_ADDRESS.match(part) for part in parts]
        if all(simple):
            pairs.extend((m.group(1) or "", m.group(2) or m.group(3)) for m in simple)
        else:
            pairs.extend(email.utils.getaddresses([value]))
    return pairs


def _carrier_haystack(raw: bytes, body_start: int, defects: list[str]) -> str:
    if body_start < 0:
        return ""
    if len(raw) > MAX_SCAN_BYTES:
        defects.append(f"mail over {MAX_SCAN_BYTES} bytes; carriers searched in the first part only")
        raw = raw[:MAX_SCAN_BYTES]
    body = raw[body_start:]
    if b"=\n" in body or b"=\r" in body:
        body = _QP_SOFT_BREAK.sub(b"", body)
    chunks = [body.replace(b"=3D", b"=") if b"=3D" in body else body]
    decoded = 0
    for encoded in _base64_headers(raw):
        start = _HEADER_END.search(raw, encoded.end())
        if start is None:
            continue
        lookback = max(encoded.start() - 2000, 0)  # a part's header block is short
        part_head = raw[max(raw.rfind(b"\n\n", lookback, encoded.start()),
                            raw.rfind(b"\r\n\r\n", lookback, encoded.start()), lookback):start.end()]
        if not _TEXT_PART.search(part_head):
            continue  # attachments and images cannot carry our tokens
        if decoded == MAX_DECODED_PARTS:
            defects.append(f"more than {MAX_DECODED_PARTS} base64 text parts; later ones not searched")
            break
        decoded += 1
        end = raw.find(b"\n--", start.end())
        try:  # non-alphabet characters (line ends) are skipped by binascii
            chunks.append(binascii.a2b_base64(raw[start.end(): end if end > 0 else None]))
        except (binascii.Error, ValueError):
            continue
    # Every carrier contains one of these literals: without them there is nothing to find.
    chunks = [c for c in chunks if b"thread::" in c or b"pt-ticket" in c]
    return b"\n".join(chunks).decode("latin-1")


def _base64_headers(raw: bytes):
    """Content-Transfer-Encoding: base64 header lines, found by a literal scan (fast)."""
    for needle in (b"ase64", b"ASE64"):  # base64, Base64, BASE64
        at = raw.find(needle)
        while at >= 0:
            window = max(at - 80, 0)  # the header name sits just before, on the same line
            line_start = max(raw.rfind(b"\n", window, at), raw.rfind(b"\r", window, at)) + 1
            found = _BASE64_HEADER.match(raw, line_start)
            if found:
                yield found
            at = raw.find(needle, at + 5)


def normalize_message_id(value: str | None) -> str | None:
    """``<abc@x>`` -> ``abc@x``; anything unusable -> None."""
    ids = extract_message_ids(value or "")
    return ids[0] if ids else None


def extract_message_ids(value: str) -> list[str]:
    """All Message-IDs in a header value, in order, de-duplicated.

    Accepts ``<id>`` anywhere in the value (so ``<id>; from X on ...`` works) and, when no
    angle-bracketed id is present, a single bare ``local@domain`` token.
    """
    found = [m.group(1) for m in _ANGLE_ID.finditer(value)]
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
    from_addr: str
    raw_from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    delivered_to: tuple[str, ...]
    thread_index: str | None
    defects: list[str] = field(default_factory=list)
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
        return _carrier_haystack(self.raw, self._body_start, self.defects)

    @cached_property
    def _body(self) -> tuple[str, str]:
        return _read_body(self.raw, self.defects)

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
            return html_to_text(self.html_body)
        return ""


def html_to_text(html: str) -> str:
    import html2text

    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    try:
        return converter.handle(html)
    except Exception:  # html2text chokes on some broken markup; plain strip as last resort
        return re.sub(r"<[^>]+>", " ", html)


def parse_message(raw: bytes | str) -> InboundMessage:
    """Parse raw bytes; never raises. Problems become ``defects``."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    defects: list[str] = []
    end = _HEADER_END.search(raw)
    try:  # only the header block: the header parser would otherwise walk every body line
        headers = _HEADER_PARSER.parsebytes(raw[: end.end()] if end else raw)
    except Exception as exc:  # pragma: no cover - the stdlib parser is very forgiving
        defects.append(f"unparseable message: {exc.__class__.__name__}")
        headers = Message()
    defects.extend(type(d).__name__ for d in headers.defects)

    index: dict[str, list] = {}
    for name, value in headers.raw_items():  # one pass; get_all() rescans every header
        index.setdefault(name.lower(), []).append(value)

    def values_of(name: str) -> list:
        return [_fetch(name, v) for v in index.get(name.lower(), ())]

    def get(name: str) -> str:
        values = values_of(name)
        if not values:
            return ""
        value = values[0]
        if isinstance(value, str) and len(value) > MAX_HEADER_CHARS and name != "References":
            defects.append(f"{name} header of {len(value)} characters; kept the first {MAX_HEADER_CHARS}")
            value = value[:MAX_HEADER_CHARS]
        return decode_header_value(value, defects)

    def addresses(*names: str) -> list[tuple[str, str]]:
        values = []
        for name in names:
            values.extend(str(v) for v in values_of(name))
        try:
            pairs = _parse_addresses(values)
        except Exception:
            defects.append(f"malformed address header {names[0]}")
            return []
        out = []
        for name, addr in pairs:
            addr = _unescape(addr).strip()
            if "@" in addr:
                # Local parts keep their case: plus-address tokens are case-sensitive.
                local, _, domain = addr.rpartition("@")
                out.append((name, f"{local}@{domain.lower()}"))
        return out

    raw_mid = get("Message-ID")
    message_id = normalize_message_id(raw_mid)
    if raw_mid and not message_id:
        defects.append("malformed Message-ID")
    elif not raw_mid:
        defects.append("missing Message-ID")

    references = extract_message_ids(get("References"))
    if len(references) > MAX_REFERENCES:
        defects.append(f"References has {len(references)} ids; kept the newest {MAX_REFERENCES}")
        references = references[-MAX_REFERENCES:]

    senders = addresses("From") or addresses("Sender") or addresses("Return-Path")
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
        _headers=index,
        _body_start=end.end() if end else -1,
    )


def _read_body(raw: bytes, defects: list[str]) -> tuple[str, str]:
    """First inline text/plain and text/html parts, decoded; forgiving of broken MIME."""
    try:
        msg = _FULL_PARSER.parsebytes(raw)
    except Exception:  # pragma: no cover
        defects.append("unparseable body")
        return "", ""
    plain = html = None
    try:
        parts = list(msg.walk())
    except Exception:
        defects.append("unwalkable MIME structure")
        parts = [msg]
    for part in parts:
        if part.is_multipart():
            continue
        try:
            ctype = part.get_content_type()
            disposition = (part.get("Content-Disposition") or "").lower()
        except Exception:
            continue
        if disposition.startswith("attachment") or ctype not in ("text/plain", "text/html"):
            continue
        try:
            payload = part.get_payload(decode=True) or b""
            charset = part.get_content_charset()
        except Exception:
            defects.append("undecodable body part")
            continue
        text = decode_bytes(payload, charset, defects)
        if ctype == "text/plain" and plain is None:
            plain = text
        elif ctype == "text/html" and html is None:
            html = text
        if plain is not None and html is not None:
            break
    return plain or "", html or ""
