"""The hidden HTML ticket tag quoted back inside a reply's HTML body."""

from ..carriers import TICKET_TAG_RE, find_all
from ..decision import Miss
from .base import match_tokens

name = "ticket_tag"


def match(message, ctx):
    found = match_tokens(find_all(TICKET_TAG_RE, message.body_haystack), "ticket tag", ctx)
    return found or Miss("no hidden ticket tag in the body")
