"""The app's public REST methods, at stable dotted paths (``/api/method/persona_threading.api.*``).

The implementations live in ``frappe_adapter``; this module only gives integrations one
documented place to call.
"""

from .frappe_adapter.api import why_here

__all__ = ["why_here"]
