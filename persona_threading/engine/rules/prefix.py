"""``#PREFIX`` at the start of the subject routes a new conversation to that project."""

import re

from ..decision import Match, Miss

name = "prefix"

#: Reply/forward markers mail clients put before the subject, in several languages.
_REPLY_MARKERS = re.compile(r"^\s*((re|fwd?|aw|wg|sv|vs|tr|rv|antw|odp)\s*(\[\d+\])?\s*:\s*)*",
                            re.IGNORECASE)
VALID_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9]+")
PREFIX_RE = re.compile(rf"^#({VALID_PREFIX.pattern})")


def find_prefix(subject: str) -> str | None:
    """The ``#PREFIX`` word opening the subject (after any Re:/Fwd:), without the ``#``."""
    found = PREFIX_RE.match(_REPLY_MARKERS.sub("", subject, count=1).lstrip())
    return found.group(1) if found else None


def match(message, ctx):
    prefix = find_prefix(message.subject)
    if prefix is None:
        return Miss("subject does not start with #PREFIX")
    project = ctx.lookup.project_by_prefix(prefix)
    if project is None:
        return Miss(f"#{prefix} names no project")
    return Match(f"subject prefix #{prefix}", project=project.name)
