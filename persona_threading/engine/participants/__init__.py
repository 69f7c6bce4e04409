"""Who a conversation's people are to it, and what each message does to them.

- roles.py: the role names (stored and a decision's sender_role) and their ONE mapping;
- standing.py: the ONE decision of a mail's sender_role and visibility (public/private);
- changes.py: who joins, leaves and comes back with each message (with audit reasons);
- recipients.py: reply recipients, follower notifications, a new CC's public history;
- directory.py: what the site knows about the addresses (inboxes, agents, light agents,
  the CC blocklist).

``review_participants`` is what the router calls: it fills a decision's sender_role,
visibility, standing, warning and participants from the Lookup.
"""

from __future__ import annotations

from typing import Sequence

from ..authenticity import NOT_CONFIGURED, Authenticity
from ..message import InboundMessage
from .changes import (CHANGE_ROLE, DEACTIVATE, IGNORE, JOIN, REACTIVATE, MessageFollower, ParticipantChange,
                      ParticipantPlan, message_followers, plan_participants, responder_follows)
from .directory import Directory, bare_address, blocking_pattern, wildcard_match
from .recipients import ReplyRecipients, follower_notifications, public_history, relay_recipients, reply_recipients
from .roles import (AGENT, ASSIGNEE, CC, FOLLOWER, NOTIFIED_FOLLOWER_ROLES, PRIVATE, PUBLIC, REQUESTER,
                    SENDER_AGENT, SENDER_CC, SENDER_FOLLOWER, SENDER_LIGHT_AGENT, SENDER_REQUESTER,
                    SENDER_ROLE_OF_STORED, SENDER_THIRD_PARTY, STORED_ROLES, THIRD_PARTY, Participant, Roster,
                    sender_role, sender_role_of, vouches_for_weak_identifiers)
from .standing import Standing, standing_of, third_party_warning


def review_participants(decision, message: InboundMessage, lookup, cc_blocklist: Sequence[str] = (),
                        authenticity: Authenticity = NOT_CONFIGURED,
                        ccs_by_email: bool = True) -> ParticipantPlan | None:
    """Decide the sender's standing and the participant changes of ``message`` for the
    conversation ``decision`` puts it in, and record both on the decision. Reads the
    conversation's participants and what the site knows about each address through the
    Lookup; None (and nothing recorded) for a duplicate. ``ccs_by_email`` off: received
    mail adds no CC (engine.participants.changes)."""
    roster = Roster(lookup.participants(decision.conversation)) if decision.conversation else Roster()
    addresses = (message.header_from, message.from_addr, decision.submitted_by, decision.assigned_to,
                 *message.to, *message.cc)
    directory = Directory.gather(addresses, lookup, cc_blocklist)
    standing = standing_of(decision, message, roster, directory, authenticity.forged)
    if standing is None:
        return None
    plan = plan_participants(decision, message, roster, directory, standing, authenticity.forged, ccs_by_email)
    decision.sender_role, decision.visibility, decision.standing = standing.role, standing.visibility, standing.evidence
    decision.warning, decision.participants = standing.warning, plan.as_dict()
    return plan


__all__ = [
    "AGENT", "ASSIGNEE", "CC", "CHANGE_ROLE", "DEACTIVATE", "FOLLOWER", "IGNORE", "JOIN", "NOTIFIED_FOLLOWER_ROLES",
    "PRIVATE", "PUBLIC", "REACTIVATE", "REQUESTER", "SENDER_AGENT", "SENDER_CC", "SENDER_FOLLOWER",
    "SENDER_LIGHT_AGENT", "SENDER_REQUESTER", "SENDER_ROLE_OF_STORED", "SENDER_THIRD_PARTY", "STORED_ROLES",
    "THIRD_PARTY", "Directory", "MessageFollower", "Participant", "ParticipantChange", "ParticipantPlan",
    "ReplyRecipients", "Roster", "Standing", "bare_address", "blocking_pattern", "follower_notifications",
    "message_followers", "plan_participants", "public_history", "relay_recipients", "reply_recipients",
    "responder_follows", "review_participants",
    "sender_role", "sender_role_of", "standing_of", "third_party_warning", "vouches_for_weak_identifiers",
    "wildcard_match",
]
