"""Outlook Thread-Index: a reply's first 22 bytes name the thread it answers.

Only reply-length values (more than 22 bytes) are looked up. A 22-byte value is the first
mail of a new Outlook thread: it is stored to name the thread, never looked up, so a new
mail that happens to reuse a root (a client bug, a copied header) opens its own conversation.
"""

from ..decision import Match, Miss
from ..thread_index import decode_thread_index

name = "thread_index"


def match(message, ctx):
    index = decode_thread_index(message.thread_index)
    if index is None:
        return Miss("no Thread-Index header")
    if index.root is None:
        return Miss(f"Thread-Index {message.thread_index[:60]!r} unusable: {index.problem}")
    if index.is_root:
        return Miss(f"Thread-Index root {index.root} starts a new Outlook thread (22 bytes): "
                    "stored, not looked up")
    conversation = ctx.lookup.conversation_by_thread_root(index.root)
    if conversation is None:
        return Miss(f"Thread-Index (reply) root {index.root} names no stored thread")
    return Match(f"Thread-Index root {index.root}", conversation=conversation)
