"""Outlook Thread-Index: a reply's first 22 bytes name the thread it answers.

Only reply-length values (more than 22 bytes) are looked up. A 22-byte value is the first
mail of a new Outlook thread: it is stored to name the thread, never looked up, so a new
mail that happens to reuse a root (a client bug, a copied header) opens its own conversation.

A Thread-Index is a weak identifier: anyone who saw one mail of a thread knows its root,
and a stranger can squat a root by sending it first. So it threads only a sender who is
already a participant of the conversation the root names (or an agent), by the From
address and only when that is not shown forged: a stranger does not thread, and a
squatted root cannot pull a victim's later mail into the squatter's conversation.
"""

from ..decision import Match, Miss
from ..participants import vouches_for_weak_identifiers
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
    refused = _sender_refused(message, ctx, conversation)
    if refused:
        return Miss(f"Thread-Index root {index.root} names conversation {conversation}, but {refused}"
                    " (a Thread-Index alone proves nothing)")
    return Match(f"Thread-Index root {index.root}", conversation=conversation)


def _sender_refused(message, ctx, conversation) -> str | None:
    """Why the sender may not thread by a Thread-Index, or None when they may."""
    sender = message.header_from
    if ctx.authenticity.forged:
        return f"the From address is shown forged ({ctx.authenticity.evidence})"
    if not sender:
        return "the mail has no single From address"
    role = ctx.lookup.participant_role(conversation, sender)
    if vouches_for_weak_identifiers(role) or ctx.lookup.is_active_user(sender):
        return None
    return f"sender {sender} is not a participant of it" if role is None else \
        f"sender {sender} only wrote in to it ({role})"
