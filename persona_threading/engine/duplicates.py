"""Is this mail one we stored already, or another mail reusing a stored Message-ID?

A Message-ID is chosen by the sender, so it alone proves nothing: a stranger who sends
first with the id a customer will use later must not get the customer's mail discarded
(Message-ID pre-emption). A mail is a duplicate only when a stored message has its id AND
its content digest, or (the same mail delivered with other transport headers, e.g. to two
of our inboxes) the same sender and Date. A stored copy that recorded none of these (an
older store) still counts, as before.
"""

from __future__ import annotations

from typing import Sequence

from .lookup import StoredMessage
from .message import InboundMessage


def same_mail(message: InboundMessage, stored: StoredMessage) -> str | None:
    """Why ``stored`` is this very mail (evidence), or None when it is another mail."""
    if stored.digest is not None and stored.digest == message.content_digest:
        return "same content"
    date = message.date.strip()
    if stored.sender is not None and stored.sent_date is not None:
        if date and stored.sent_date.strip() == date and stored.sender.lower() == message.from_addr.lower():
            return "same sender and Date"
        return None
    if stored.digest is None:
        return "the stored copy predates content digests"
    return None


def find_original(message: InboundMessage, stored: Sequence[StoredMessage]) -> tuple[StoredMessage, str] | None:
    """The stored copy of this mail among those with its Message-ID, and why it is the same."""
    for candidate in stored:
        why = same_mail(message, candidate)
        if why:
            return candidate, why
    return None


def reused_id_defect(message_id: str, others: int) -> str:
    return (f"Message-ID <{message_id}> reused: {others} stored message(s) have it with other content"
            " (neither the same content nor the same sender and Date); stored as its own message")
