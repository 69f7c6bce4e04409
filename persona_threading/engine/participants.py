"""Who a conversation's people are to it: the role names both stores record.

A sender joins once. Whoever opens a conversation is its Requester (for an agent's
forward, the original sender; the forwarding agent is the Assignee). Someone whose reply
threads onto a conversation that already has a requester is a Third party: the role says
they joined by writing in, not that anyone invited them to follow.
"""

REQUESTER, CC, THIRD_PARTY, ASSIGNEE = "Requester", "CC", "Third party", "Assignee"


def sender_role(conversation_has_requester: bool) -> str:
    """The role of an inbound sender who is not a participant yet."""
    return THIRD_PARTY if conversation_has_requester else REQUESTER
