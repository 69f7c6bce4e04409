"""Scheduled jobs (wired in hooks.scheduler_events)."""

from __future__ import annotations

from . import review_queue, settings


def clear_old_suspended_mail() -> int:
	"""Daily: Suspended queue rows older than PT Settings' retention days go (their
	Communication stays)."""
	return review_queue.clear_suspended(int(settings.settings().suspended_retention_days or 0))
