"""``thread::<token>::`` in the subject, else in the body (plain text or HTML)."""

from ..carriers import THREAD_TOKEN_RE, find_all
from ..decision import Miss
from .base import match_tokens

name = "token"


def match(message, ctx):
    in_subject = match_tokens(find_all(THREAD_TOKEN_RE, message.subject), "subject", ctx)
    if in_subject is not None and not isinstance(in_subject, Miss):
        return in_subject
    body_tokens = find_all(THREAD_TOKEN_RE, message.body_haystack)
    in_body = match_tokens(body_tokens, "body", ctx)
    if in_body is not None and not isinstance(in_body, Miss):
        return in_body
    found = [r.evidence for r in (in_subject, in_body) if r is not None]
    return Miss("; ".join(found) if found else "no thread:: token in subject or body")
