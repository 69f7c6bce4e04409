"""The routing engine: pure Python, never imports frappe.

parse_message() turns bytes into an InboundMessage; route() walks the ordered rule chain
(engine.rules.CHAIN) and returns a Decision that records every rule tried.
"""

from .carriers import Keyring
from .decision import Attempt, Decision
from .message import InboundMessage, parse_message
from .router import route

__all__ = ["Attempt", "Decision", "InboundMessage", "Keyring", "parse_message", "route"]
