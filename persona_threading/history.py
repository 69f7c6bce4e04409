"""Stored mail history back into mail the engine can read.

A helpdesk keeps each received mail as a record (Frappe: a Communication) with its sender,
recipients, subject, Message-ID and HTML, not the raw message. The app also keeps the mail's
header block (capped), so a replay sees what routing saw: References, Thread-Index,
Auto-Submitted, list headers. ``rebuild_message`` puts the two back together; for history
from before the app, the record's own fields are all there is (and the report says so).
"""

from __future__ import annotations

from .engine.decoding import storable_text

HEADER_LIMIT = 64 * 1024  # a pathological header block is kept up to here, never more
_BODY_HEADERS = ("content-type", "content-transfer-encoding", "content-disposition", "mime-version",
                 "content-id", "content-description")


def header_block(raw: bytes, limit: int = HEADER_LIMIT) -> str:
    """The raw header section of a mail (up to the first empty line), at most ``limit`` bytes,
    as text any database stores (8-bit bytes that are not UTF-8 read as Windows-1252, as mail
    clients read them: never lone surrogates, which MariaDB refuses)."""
    end = len(raw)
    for separator in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(separator, 0, limit + 4)
        if at != -1:
            end = min(end, at)
    return storable_text(raw[:min(end, limit)])


def rebuild_message(headers: str | None, *, message_id: str | None, in_reply_to: str | None, subject: str,
                    sender: str, recipients: str, cc: str, date: str | None, html: str) -> bytes:
    """A mail with the stored header block (when there is one) and the stored HTML as its
    body; fields the block lacks come from the record. Headers stay as received (no
    re-folding): the engine reads them exactly as routing did."""
    kept, present, skipping = [], set(), False
    for line in (headers or "").replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t"):
            if not skipping and kept:
                kept.append(line)
            continue
        name = line.split(":", 1)[0].strip().lower()
        skipping = ":" not in line or name in _BODY_HEADERS
        if not skipping:
            kept.append(line)
            present.add(name)
    for name, value in (("From", sender), ("To", recipients), ("Cc", cc), ("Subject", subject), ("Date", date),
                        ("Message-ID", f"<{message_id}>" if message_id else None),
                        ("In-Reply-To", f"<{in_reply_to}>" if in_reply_to else None)):
        if value and name.lower() not in present:
            kept.append(f"{name}: {' '.join(str(value).split())}")
    kept += ["MIME-Version: 1.0", "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
    return ("\r\n".join(kept) + "\r\n\r\n" + (html or "")).encode("utf-8", "surrogateescape")
