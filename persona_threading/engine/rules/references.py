"""Any Message-ID in References names a stored message; the newest stored match wins."""

from ..decision import Miss
from .base import first_threaded

name = "references"


def match(message, ctx):
    if not message.references:
        return Miss("no References header")
    return first_threaded(ctx.lookup.messages_by_ids(message.references), "References",
                          message.references)
