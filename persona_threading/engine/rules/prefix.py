"""``#PREFIX`` at the very start of the subject routes a new conversation to that project.

The anchor is the subject's first character: "Re: #BETA …" is somebody's reply, not a
request for BETA. The lenient form (after Re:/Fwd: markers) counts only when the policy's
``prefix_after_reply_markers`` is on, and the evidence says which form matched.

A prefix is the sender's wish, not a right: it routes only to a project the receiving
inbox serves (an eligible scope), and on an inbox without scopes (or an unconfigured
address) only to a project that accepts inbound mail. Otherwise the attempt says the
prefix is not allowed here and the chain goes on.
"""

from __future__ import annotations

import re

from ..decision import Match, Miss

name = "prefix"

#: Reply/forward markers mail clients put before the subject, in several languages.
#: Linear: after the word, one run of blanks, then "[n]" or ":" decides (no two quantifiers
#: compete for the same blanks).
_REPLY_MARKERS = re.compile(r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|tr|rv|antw|odp)\s*(?:\[\d+\]\s*)?:\s*)+",
                            re.IGNORECASE)
VALID_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9]+")
PREFIX_RE = re.compile(rf"^#({VALID_PREFIX.pattern})")

AT_START, AFTER_REPLY_MARKERS = "at the start of the subject", "after reply markers"


def prefix_form(subject: str) -> tuple[str, str] | None:
    """``(prefix, form)`` for a ``#PREFIX`` opening the subject, or following Re:/Fwd: markers."""
    found = PREFIX_RE.match(subject or "")
    if found:
        return found.group(1), AT_START
    markers = _REPLY_MARKERS.match(subject or "")
    if markers and markers.end():
        found = PREFIX_RE.match(subject[markers.end():].lstrip())
        if found:
            return found.group(1), f"{AFTER_REPLY_MARKERS} {markers.group(0).strip()!r}"
    return None


def find_prefix(subject: str, after_reply_markers: bool = False) -> str | None:
    """The ``#PREFIX`` word opening the subject, without the ``#`` (after Re:/Fwd: only if asked)."""
    found = prefix_form(subject)
    if found is None or (found[1] != AT_START and not after_reply_markers):
        return None
    return found[0]


def match(message, ctx):
    found = prefix_form(message.subject)
    if found is None:
        return Miss("subject does not start with #PREFIX")
    prefix, form = found
    if form != AT_START and not ctx.policy.prefix_after_reply_markers:
        return Miss(f"#{prefix} comes {form}, not at the start of the subject "
                    "(the lenient form is off: policy prefix_after_reply_markers)")
    project = ctx.lookup.project_by_prefix(prefix)
    if project is None:
        return Miss(f"#{prefix} names no project")
    refused = _not_allowed_here(project, ctx.inbox)
    if refused:
        return Miss(f"#{prefix} names project {project.name}, but the prefix is not allowed here: {refused}")
    return Match(f"subject prefix #{prefix} ({form})", project=project.name)


def _not_allowed_here(project, inbox) -> str | None:
    """Why the receiving inbox may not open ``project`` by prefix, or None when it may."""
    if inbox is not None and inbox.has_scopes:
        if project.name.casefold() in {scope.casefold() for scope in inbox.scopes}:
            return None
        return f"it is not an eligible scope of inbox {inbox.address}"
    if project.accepts_inbound:
        return None
    where = f"inbox {inbox.address} has no project scopes" if inbox else "an unconfigured address"
    return f"{where} and the project does not accept inbound mail"
