"""Deprecated: use ``engine.machine_mail`` (``classify``) or ``Decision.machine``.

Kept only because the Frappe adapter (frappe_adapter/inbound.py, owned by the Frappe side)
still imports it; delete this module when it reads ``decision.machine`` instead.
"""

from __future__ import annotations

from .machine_mail import SILENT_KINDS, classify
from .message import InboundMessage


def auto_reply_reason(message: InboundMessage) -> str | None:
    """The signal of an auto-reply or bounce (mail that must not change a status), else None."""
    machine = classify(message)
    return machine.signal if machine is not None and machine.kind in SILENT_KINDS else None
