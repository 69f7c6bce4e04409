"""Outlook's Thread-Index header.

The header is base64. Its first 22 bytes (a 6-byte FILETIME plus a 16-byte GUID) name the
thread; every reply appends a 5-byte child block. So a 22-byte value is a thread root, and
a longer one is a reply whose root is its first 22 bytes.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

ROOT_LENGTH = 22
CHILD_LENGTH = 5


@dataclass(frozen=True)
class ThreadIndex:
    root: str | None  # hex of the first 22 bytes, None when invalid
    is_root: bool  # exactly 22 bytes: this message starts the thread
    problem: str | None  # why the header is unusable, else None


def decode_thread_index(value: str | None) -> ThreadIndex | None:
    """Decode a Thread-Index header; None when absent. Invalid input is reported, not raised."""
    if not value:
        return None
    compact = "".join(value.split())
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return ThreadIndex(None, False, "not valid base64")
    if len(data) < ROOT_LENGTH:
        return ThreadIndex(None, False, f"only {len(data)} bytes; a thread root needs 22")
    return ThreadIndex(data[:ROOT_LENGTH].hex(), len(data) == ROOT_LENGTH, None)


def encode_thread_index(root_hex: str, replies: int = 0) -> str:
    """A Thread-Index for a message ``replies`` levels below ``root_hex`` (for outgoing mail)."""
    data = bytes.fromhex(root_hex) + b"\x00" * (CHILD_LENGTH * replies)
    return base64.b64encode(data).decode("ascii")
