"""PT Settings, read once per request."""

from __future__ import annotations

import frappe

from ..engine import lifecycle
from ..engine.carriers import Keyring, generate_secret
from ..engine.outgoing import Carriers
from ..engine.limits import NEVER_ANSWER, AutoReplyPolicy, FloodGuard
from ..engine.router import RoutingPolicy
from . import pull

SETTINGS = "PT Settings"


def settings():
	return frappe.get_cached_doc(SETTINGS)


def enabled() -> bool:
	return bool(settings().enabled)


CONVERSATION_DOCTYPE = "Issue"  # ERPNext's; the form script, hooks and timeline are built for it


def conversation_doctype() -> str:
	return CONVERSATION_DOCTYPE


def keyring() -> Keyring:
	"""The site's token keyring, decrypted once per worker for each saved version of PT
	Settings (a new secret is saved there, so its ``modified`` tells the version: no pull
	reads the password table for it again). The secret is created on first use if install
	did not."""
	version = (frappe.local.site, str(settings().modified))
	found = _KEYRINGS.get(version)
	if found is None:
		if len(_KEYRINGS) > 64:  # old versions of this worker's sites
			_KEYRINGS.clear()
		found = _KEYRINGS[version] = _read_keyring()
	return found


_KEYRINGS: dict[tuple[str, str], Keyring] = {}


def _read_keyring() -> Keyring:
	secret = settings().get_password("token_secret", raise_exception=False)
	if not secret:
		secret = ensure_secret()
	return Keyring(secret)


def ensure_secret() -> str:
	doc = frappe.get_doc(SETTINGS)
	secret = doc.get_password("token_secret", raise_exception=False)
	if not secret:
		secret = generate_secret()
		doc.token_secret = secret
		doc.flags.ignore_permissions = True
		doc.save()
	return secret


def carriers() -> Carriers:
	s = settings()
	return Carriers(
		subject_token=bool(s.stamp_subject_token),
		body_token=bool(s.stamp_body_token),
		ticket_tag=bool(s.stamp_ticket_tag),
		subject_tag=bool(s.stamp_subject_tag),
		plus_reply_to=bool(s.plus_reply_to),
	)


def routing_policy() -> RoutingPolicy:
	s = settings()
	return RoutingPolicy(
		external_forward_requesters=bool(s.allow_external_forward_requesters),
		header_threading=bool(s.header_threading),
		thread_index_threading=bool(s.thread_index_threading),
		prefix_after_reply_markers=bool(s.prefix_after_reply_markers),
		bulk_mail_action="queue" if s.bulk_mail_action == "Manual queue" else "open",
		trusted_authserv_ids=tuple(line.lower() for line in _lines(s.trusted_authserv_ids)),
		cc_blocklist=_lines(s.cc_blocklist),
		ccs_by_email=bool(s.get("ccs_by_email", 1)),
	)


def flood_guard() -> FloodGuard:
	s = settings()
	return FloodGuard(conversations=int(s.flood_conversations or 0), minutes=int(s.flood_minutes or 0))


def auto_reply_policy(account) -> AutoReplyPolicy:
	"""An inbox's automatic reply: stock's own switch, the app's limits beside it."""
	return AutoReplyPolicy(
		enabled=bool(account.enable_auto_reply),
		window_minutes=int(account.get("pt_auto_reply_window_minutes") or 0),
		per_conversation_per_day=int(account.get("pt_auto_reply_per_conversation_per_day") or 0),
		max_age_hours=float(account.get("pt_auto_reply_max_age_hours") or 0),
		never_answer=_lines(settings().never_answer) or NEVER_ANSWER,
	)


_CLOSED_POLICIES = {
	"Reopen": lifecycle.CLOSED_REOPEN,
	"Reopen within N days": lifecycle.CLOSED_REOPEN_WITHIN,
	"Open a new linked ticket": lifecycle.CLOSED_NEW_LINKED,
}


def _lines(value: str | None) -> tuple[str, ...]:
	return tuple(line.strip() for line in (value or "").splitlines() if line.strip())


def lifecycle_policy(project: str | None = None) -> lifecycle.LifecyclePolicy:
	"""The status meanings of a project (its own mapping when set, else PT Settings')."""
	s = settings()
	mapping = {
		"awaiting_input": _lines(s.awaiting_input_statuses),
		"in_progress": (s.in_progress_status or "Open").strip(),
		"resolved": _lines(s.resolved_statuses),
		"closed": _lines(s.closed_statuses),
	}
	if project:
		own = pull.once(("project statuses", project), lambda: frappe.db.get_value(
			"Project",
			project,
			["pt_awaiting_input_statuses", "pt_in_progress_status", "pt_resolved_statuses", "pt_closed_statuses"],
			as_dict=True,
		))
		if own and any(own.values()):
			mapping = {
				"awaiting_input": _lines(own.pt_awaiting_input_statuses) or mapping["awaiting_input"],
				"in_progress": (own.pt_in_progress_status or "").strip() or mapping["in_progress"],
				"resolved": _lines(own.pt_resolved_statuses) or mapping["resolved"],
				"closed": _lines(own.pt_closed_statuses) or mapping["closed"],
			}
	return lifecycle.LifecyclePolicy(
		statuses=lifecycle.StatusMap(**mapping),
		gratitude_grace_days=float(s.gratitude_grace_days or 0),
		closed=_CLOSED_POLICIES.get(s.closed_ticket_policy, lifecycle.CLOSED_NEW_LINKED),
		reopen_within_days=float(s.reopen_within_days or 0),
	)

