"""``local+<token>@domain`` among To, Cc and Delivered-To (a plus-addressed Reply-To)."""

from ..carriers import find_plus_tokens
from ..decision import Miss
from .base import match_tokens

name = "plus_address"


def match(message, ctx):
    found = match_tokens(find_plus_tokens(message.recipients), "plus address", ctx)
    return found or Miss("no plus-addressed recipient")
