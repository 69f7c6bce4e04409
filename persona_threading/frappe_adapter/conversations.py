"""The conversation DocTypes: ERPNext's Issue and, where Frappe Helpdesk is installed, HD Ticket.

A small registry with each DocType's facts read from its model (feature detection, never a
version number): the sender and subject fields (DocType meta), the status field, and the
routing target. The engine knows routing targets as "projects" (a target name); here they
become a Project on an Issue (``project``) and an HD Team on an HD Ticket (``agent_group``).

An inbox serves the conversation DocType its mail appends to (the account's Append To, or an
IMAP folder's); its routing scopes, ``#PREFIX`` and default landing target are of that
DocType's target kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import frappe

ISSUE = "Issue"
HD_TICKET = "HD Ticket"


@dataclass(frozen=True)
class Target:
	"""Where an inbox routes new conversations: the DocType, its #PREFIX field, its title."""

	doctype: str
	prefix_field: str
	accepts_field: str
	title_field: str
	scopes_field: str  # Email Account: the table of eligible scopes
	scope_field: str  # the scope table's link to the target
	scope_doctype: str
	default_field: str  # Email Account: the default landing target


PROJECT = Target("Project", "pt_inbound_prefix", "pt_accepts_inbound", "project_name", "pt_project_scopes",
				 "project", "PT Inbox Scope", "pt_default_project")
HD_TEAM = Target("HD Team", "pt_inbound_prefix", "pt_accepts_inbound", "team_name", "pt_team_scopes",
				 "team", "PT Inbox Team", "pt_default_team")


@dataclass(frozen=True)
class ConversationType:
	doctype: str
	sender_field: str | None
	subject_field: str | None
	status_field: str | None
	target: Target
	target_field: str | None  # the document's link to its target (None: it has none)


#: Each candidate and its routing target, in the order tried.
_CANDIDATES = ((ISSUE, PROJECT, "project"), (HD_TICKET, HD_TEAM, "agent_group"))


def _detect(doctype: str, target: Target, target_field: str) -> ConversationType | None:
	if not frappe.db.exists("DocType", doctype) or not frappe.db.exists("DocType", target.doctype):
		return None
	meta = frappe.get_meta(doctype)
	field = meta.get_field(target_field)
	return ConversationType(
		doctype=doctype,
		sender_field=meta.get("sender_field") or None,
		subject_field=meta.get("subject_field") or ("subject" if meta.has_field("subject") else None),
		status_field="status" if meta.has_field("status") else None,
		target=target,
		target_field=target_field if field and field.options == target.doctype else None,
	)


def registry() -> dict[str, ConversationType]:
	"""The conversation DocTypes of this site: detected once per set of installed apps (kept in
	the site cache, so each pull job does not ask the database again), then once per request."""
	cache = getattr(frappe.local, "pt_conversation_types", None)
	if cache is None:
		cache = frappe.local.pt_conversation_types = {}
	if frappe.local.site not in cache:
		key = f"{_CACHE_KEY}:{','.join(frappe.get_installed_apps())}"
		cache[frappe.local.site] = frappe.cache.get_value(key, _detect_all)
	return cache[frappe.local.site]


_CACHE_KEY = "pt_conversation_types"


def _detect_all() -> dict[str, ConversationType]:
	found = (_detect(*candidate) for candidate in _CANDIDATES)
	return {kind.doctype: kind for kind in found if kind}


def forget() -> None:
	"""After an app is installed or removed: detect again."""
	frappe.local.pt_conversation_types = {}
	frappe.cache.delete_keys(_CACHE_KEY)


def of(doctype: str | None) -> ConversationType | None:
	return registry().get(doctype or "")


def is_conversation(doctype: str | None) -> bool:
	return bool(doctype) and doctype in registry()


def doctypes() -> tuple[str, ...]:
	return tuple(registry())


def target_of(doctype: str | None) -> Target:
	kind = of(doctype)
	return kind.target if kind else PROJECT


def appends_to(account) -> set[str]:
	"""The conversation DocTypes an Email Account's mail appends to (its own and its folders')."""
	if isinstance(account, str):
		account = frappe.get_cached_doc("Email Account", account)
	wanted = {account.get("append_to")} | {row.append_to for row in account.get("imap_folder") or []}
	return {doctype for doctype in wanted if is_conversation(doctype)}


def account_target(account) -> Target:
	"""The routing target kind of an inbox: HD Teams when its mail appends to HD Ticket."""
	return HD_TEAM if HD_TICKET in appends_to(account) and of(HD_TICKET) else PROJECT


def account_doctype(account) -> str:
	"""The conversation DocType an inbox opens (HD Ticket when any of its folders does)."""
	served = appends_to(account)
	return HD_TICKET if HD_TICKET in served else next(iter(sorted(served)), ISSUE)


def agent_roles() -> tuple[str, ...]:
	"""Who answers customers: ERPNext's Support Team, and Frappe Helpdesk's Agent role where
	HD Ticket is a conversation DocType."""
	return ("Support Team", "Agent") if of(HD_TICKET) else ("Support Team",)
