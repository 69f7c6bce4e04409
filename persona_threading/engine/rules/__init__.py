"""THE ordered chain. Precedence is this tuple's order and nothing else.

=====  ================  =========================================================
order  rule              matches when
=====  ================  =========================================================
Threading: does the mail belong to an existing conversation?
1      token             ``thread::<token>::`` in the subject, else the body, verifies
2      ticket_tag        the hidden HTML ticket tag verifies
3      subject_tag       ``[ID-<token>]`` in the subject verifies
4      plus_address      ``local+<token>@domain`` in To/Cc/Delivered-To verifies
5      in_reply_to       an In-Reply-To id is a stored message
6      references        a References id is a stored message (newest stored wins)
7      thread_index      a reply's Thread-Index root names a stored thread
Routing: where does a new conversation land?
8      prefix            ``#PREFIX`` opens the subject and names a project
9      single_scope      the inbox serves exactly one eligible project
10     default_project   a multi-scope inbox has a pinned, eligible default project
=====  ================  =========================================================

No match: an inbox with no project scopes opens a conversation (``new``); otherwise the
mail waits in the manual queue (``manual_queue``). Verifiable identifiers come before
headers because a client may drop headers but cannot forge a MAC.
"""

from . import (
    default_project,
    in_reply_to,
    plus_address,
    prefix,
    references,
    single_scope,
    subject_tag,
    thread_index,
    ticket_tag,
    token,
)
from .base import RouteContext

THREADING_RULES = (token, ticket_tag, subject_tag, plus_address, in_reply_to, references,
                   thread_index)
ROUTING_RULES = (prefix, single_scope, default_project)
CHAIN = THREADING_RULES + ROUTING_RULES
RULE_NAMES = tuple(rule.name for rule in CHAIN)

__all__ = ["CHAIN", "RULE_NAMES", "ROUTING_RULES", "THREADING_RULES", "RouteContext"]
