"""Body access: the carrier haystack for the hot path, full text for everything else.

``carrier_haystack`` never parses MIME: carriers are ASCII and every hit is MAC-verified,
so the raw body with quoted-printable soft breaks undone plus the first base64 text parts
decoded is enough, at a fraction of a parse's cost. ``read_body`` is the real stdlib parse,
used only when text is needed (forwards, display, the gratitude filter).
"""

from __future__ import annotations

import binascii
import re
from email import policy as email_policy
from email.parser import BytesParser

from .decoding import decode_bytes

#: Carriers sit in a reply's first text parts; decoding stops after this many base64 ones.
MAX_DECODED_PARTS = 8
#: ...and only the first this-many bytes of a mail are searched (attachments come last).
MAX_SCAN_BYTES = 1 << 20
#: At most this many base64 header lines are looked at, and a part's header block must end
#: within PART_HEAD_BYTES of one: a mail repeating the header cannot make the scan quadratic.
MAX_BASE64_HEADERS = 64
PART_HEAD_BYTES = 8192

_QP_SOFT_BREAK = re.compile(rb"=(?:\r\n|\n|\r)")
_BASE64_HEADER = re.compile(rb"(?i)content-transfer-encoding:[ \t]*\"?base64")
_TEXT_PART = re.compile(rb"(?i)content-type:[ \t]*text/")
_SIXTY_FOUR = re.compile(rb"64")
_HEADER_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_FULL_PARSER = BytesParser(policy=email_policy.compat32)


def carrier_haystack(raw: bytes, body_start: int, defects: list[str]) -> str:
    if body_start < 0:
        return ""
    if len(raw) > MAX_SCAN_BYTES:
        defects.append(f"mail over {MAX_SCAN_BYTES} bytes; carriers searched in the first part only")
        raw = raw[:MAX_SCAN_BYTES]
    # Quoted-printable soft breaks undone in one pass (without any, ``sub`` returns the body as is).
    body = _QP_SOFT_BREAK.sub(b"", raw[body_start:])
    parts = []  # the decoded base64 text parts
    decoded = 0
    top_level_seen = False
    for seen, encoded in enumerate(_base64_headers(raw)):
        if seen == MAX_BASE64_HEADERS:
            defects.append(f"more than {MAX_BASE64_HEADERS} base64 header lines; later ones not searched")
            break
        if encoded.end() <= body_start:  # the top-level header: its body starts at body_start
            if top_level_seen:
                continue
            top_level_seen = True
            start = _HEADER_END.search(raw, max(body_start - 4, 0), body_start)
        else:
            start = _HEADER_END.search(raw, encoded.end(), encoded.end() + PART_HEAD_BYTES)
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
            parts.append(binascii.a2b_base64(raw[start.end(): end if end > 0 else None]))
        except (binascii.Error, ValueError):
            continue
    # "=3D" -> "=" cannot make or break a carrier literal (none holds "=", "3" or "D"), so only
    # a body that may carry one needs unescaping: one pass less for most mails.
    chunks = [body.replace(b"=3D", b"=")] if _may_carry(body) else []
    chunks += [part for part in parts if _may_carry(part)]
    return b"\n".join(chunks).decode("latin-1")


def _may_carry(chunk: bytes) -> bool:
    """Every carrier contains one of these literals: without them there is nothing to find."""
    return b"thread::" in chunk or b"pt-ticket" in chunk


def _base64_headers(raw: bytes):
    """Content-Transfer-Encoding: base64 header lines, found by a literal scan (fast): at every
    "ase64" (base64, Base64), then at every "ASE64" (BASE64)."""
    lower, upper = [], []
    # One regex pass for both (its literal search was twice as fast as two bytes.find() passes).
    for hit in _SIXTY_FOUR.finditer(raw, 3):
        word = raw[hit.start() - 3: hit.start()]
        if word == b"ase":
            lower.append(hit.start() - 3)
        elif word == b"ASE":
            upper.append(hit.start() - 3)
    for at in lower + upper:
        window = max(at - 80, 0)  # the header name sits just before, on the same line
        line_start = max(raw.rfind(b"\n", window, at), raw.rfind(b"\r", window, at)) + 1
        found = _BASE64_HEADER.match(raw, line_start)
        if found:
            yield found


def html_to_text(html: str) -> str:
    import html2text

    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    try:
        return converter.handle(html)
    except Exception:  # html2text chokes on some broken markup; plain strip as last resort
        return re.sub(r"<[^<>]*>", " ", html)


def read_body(raw: bytes, defects: list[str]) -> tuple[str, str]:
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
