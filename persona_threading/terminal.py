"""Mail-derived text made safe for a terminal: shared by the CLI and the replay report."""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, bidi marks/embeddings/overrides/isolates,
# and lone surrogates (undecodable bytes of a file name).
_UNSAFE_FOR_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                                  "\u2066-\u2069\ud800-\udfff]")


def terminal_safe(text: object) -> str:
    """Mail-derived text made harmless for a terminal: escapes (ANSI/OSC), other controls and
    bidi overrides become visible escapes (``\\x1b``), so a subject cannot rewrite the
    agent's screen or reorder what it shows. For human output only; JSON stays exact."""
    return _UNSAFE_FOR_TERMINAL.sub(_escape_char, str(text))


def _escape_char(found: re.Match) -> str:
    code = ord(found.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
