"""``[ID-<token>]`` in the subject."""

from ..carriers import SUBJECT_TAG_RE, find_all
from ..decision import Miss
from .base import match_tokens

name = "subject_tag"


def match(message, ctx):
    found = match_tokens(find_all(SUBJECT_TAG_RE, message.subject), "subject tag", ctx)
    return found or Miss("no [ID-…] tag in the subject")
