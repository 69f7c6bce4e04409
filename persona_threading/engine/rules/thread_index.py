"""Outlook Thread-Index: the first 22 bytes name the thread."""

from ..decision import Match, Miss
from ..thread_index import decode_thread_index

name = "thread_index"


def match(message, ctx):
    index = decode_thread_index(message.thread_index)
    if index is None:
        return Miss("no Thread-Index header")
    if index.root is None:
        return Miss(f"Thread-Index {message.thread_index[:60]!r} unusable: {index.problem}")
    conversation = ctx.lookup.conversation_by_thread_root(index.root)
    if conversation is None:
        kind = "thread root" if index.is_root else "reply"
        return Miss(f"Thread-Index ({kind}) root {index.root} names no stored thread")
    return Match(f"Thread-Index root {index.root}", conversation=conversation)
