"""In-Reply-To names a message we stored (received or sent)."""

from ..decision import Miss
from .base import first_threaded

name = "in_reply_to"


def match(message, ctx):
    if not message.in_reply_to:
        return Miss("no In-Reply-To header")
    return first_threaded(ctx.lookup.messages_by_ids(message.in_reply_to), "In-Reply-To",
                          message.in_reply_to)
