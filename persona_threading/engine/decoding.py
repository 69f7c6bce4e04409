"""Header and charset decoding that never raises: bad input decodes to something readable."""

from __future__ import annotations

import codecs
import email.header
import re

_SURROGATE = re.compile("[\udc80-\udcff]")
_FOLD = re.compile(r"\r?\n[ \t]*|\r[ \t]*")
#: Python codecs that are no mail charset: they transform text (escapes, IDNA) or refuse.
_NOT_CHARSETS = frozenset({"punycode", "idna", "unicode-escape", "raw-unicode-escape", "undefined",
                           "charmap", "palmos", "mbcs", "oem"})


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
        return _unfold(unescape(str(text)))
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, charset, defects))
        else:
            out.append(unescape(chunk))
    return _unfold("".join(out))


def decode_bytes(data: bytes, charset: str | None, defects: list[str] | None = None) -> str:
    """Decode bytes by a declared charset, falling back to utf-8 then latin-1."""
    for candidate in (charset, "utf-8"):
        if not candidate or candidate == "unknown-8bit":
            continue
        try:
            if codecs.lookup(candidate).name in _NOT_CHARSETS:
                raise LookupError(candidate)
            return data.decode(candidate)
        except UnicodeDecodeError:
            if defects is not None and candidate == charset:
                defects.append(f"bytes not valid in declared charset {candidate!r}")
        except Exception:  # the label is the sender's: unknown, not text, NUL, codec errors...
            if defects is not None:
                defects.append(f"unknown charset {candidate!r}")
    return data.decode("latin-1")


def unescape(text: str) -> str:
    """compat32 keeps undecodable 8-bit header bytes as surrogates: recover them."""
    if not text.isascii() and _SURROGATE.search(text):
        raw = text.encode("utf-8", "surrogateescape")
        return decode_bytes(raw, "utf-8")
    return text


def _unfold(text: str) -> str:
    return _FOLD.sub(" ", text).strip()


_NOT_STORABLE = re.compile("[\x00\udc80-\udcff]")


def storable_text(value: str | bytes) -> str:
    """Text any database accepts: valid UTF-8 with no lone surrogates and no NUL.

    Mail keeps undecodable 8-bit bytes as surrogates (compat32, ``surrogateescape``), and
    MariaDB refuses them ("Incorrect string value"). Those bytes are read as mail clients
    read unlabelled 8-bit text: each line as UTF-8 when it is, else as Windows-1252
    (Latin-1's superset); a byte neither defines becomes U+FFFD. NUL is dropped.
    """
    if isinstance(value, str):
        if value.isascii() and "\x00" not in value:
            return value
        if not _NOT_STORABLE.search(value):
            return value
        value = value.encode("utf-8", "surrogateescape")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        text = "".join(_line_as_text(line) for line in value.splitlines(keepends=True))
    return text.replace("\x00", "") if "\x00" in text else text


def _line_as_text(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("cp1252", "replace")
