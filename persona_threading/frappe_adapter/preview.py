"""Preview before switching on: replay the site's mail history through the engine and list
where it would have put mail elsewhere than stock Frappe did.

The replay itself is pure (persona_threading.replay: a throwaway in-memory store, oldest
first, so each mail meets the history as it was when it arrived). This module only reads
Communications in keyset-paginated batches, turns each back into mail (history.py: the kept
header block plus the record), and stores the report on a PT Preview: nothing is written to
the routing tables and no mail is sent. It runs as a background job with progress on the
form and can be cancelled between batches; `bench ... persona-threading preview` runs the
same replay in the terminal.

Each kind of ticket replays as its inboxes route live (conversations.py): Issue inboxes by
Projects, HD Ticket inboxes (Frappe Helpdesk) by HD Teams, each kind in a replay of its own
(its own prefixes, scopes, default landing target and conversation keys), all in one report.
"""

from __future__ import annotations

import contextlib
import io
from datetime import datetime
from functools import partial
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

import frappe
from frappe import _
from frappe.query_builder.functions import Count
from frappe.utils import add_days, get_datetime, getdate, get_system_timezone, now_datetime

from ..config import Config
from ..engine.message import normalize_message_id, parse_message
from ..history import rebuild_message
from ..replay import DISAGREEMENTS, ComparisonReport, LiveDecision, Replayer
from ..store.sqlite import InboxConfig, ProjectConfig, UserConfig
from . import conversations, settings
from .lookup import LIGHT_AGENT_ROLE

PREVIEW = "PT Preview"
BATCH = 500
NAMED_SHOWN = 200  # differences named as time-dependent or changed later, listed on the form
FIELDS = ("name", "creation", "communication_date", "sent_or_received", "reference_doctype", "reference_name",
		  "sender", "recipients", "cc", "subject", "content", "message_id", "in_reply_to", "pt_headers",
		  "email_account")


def site_config(doctype: str | None = None) -> Config:
	"""The site's routing configuration for the inboxes of ``doctype`` (default: Issue) as the
	engine's Config: its routing targets (Projects, or HD Teams for HD Ticket), each inbox's
	scopes and default landing target of that kind, agents, policy, and the site's token secret
	(tokens the app stamped verify as they did live; each replayed conversation takes its
	ticket's key, see ``identity``)."""
	target = conversations.target_of(doctype or settings.conversation_doctype())
	Table = frappe.qb.DocType(target.doctype)
	projects = {name: (prefix or name, accepts) for name, prefix, accepts in
				frappe.qb.from_(Table).select(Table.name, Table[target.prefix_field], Table[target.accepts_field]).run()}
	key = lambda project: projects.get(project, (project, True))[0]  # noqa: E731
	inboxes = []
	for account in frappe.get_all("Email Account", filters={"email_id": ["is", "set"]},
								  fields=["name", "email_id", target.default_field]):
		scopes = frappe.get_all(target.scope_doctype, filters={"parent": account.name, "parenttype": "Email Account",
															   "parentfield": target.scopes_field},
								fields=[target.scope_field, "approved", "receive_enabled"], order_by="idx asc")
		default = account.get(target.default_field)
		inboxes.append(InboxConfig(
			account.email_id,
			tuple(key(s[target.scope_field]) for s in scopes if s.approved and s.receive_enabled),
			key(default) if default else None,
			tuple(key(s[target.scope_field]) for s in scopes if not (s.approved and s.receive_enabled))))
	roles = {}
	wanted = (*conversations.agent_roles(), LIGHT_AGENT_ROLE)
	for user, role in frappe.get_all("Has Role", filters={"parenttype": "User", "role": ["in", wanted]},
									 fields=["parent", "role"], as_list=True):
		roles.setdefault(user, set()).add(role)
	enabled = set(frappe.get_all("User", filters={"name": ["in", list(roles) or [""]], "enabled": 1,
												  "user_type": "System User"}, pluck="name"))
	users = [UserConfig(user, True, LIGHT_AGENT_ROLE in held) for user, held in roles.items() if user in enabled]
	return Config(secret=settings.ensure_secret(),
				  projects=[ProjectConfig(prefix, name, bool(accepts)) for name, (prefix, accepts) in projects.items()],
				  inboxes=inboxes, users=users, policy=settings.routing_policy(), flood_guard=settings.flood_guard())


def identity(doctype: str, ticket: str) -> tuple[str | None, str | None]:
	"""The key and Outlook thread root of a ticket's conversation on this site: what the tokens
	and Thread-Index headers of its mail name (indexed on reference_doctype/name)."""
	row = frappe.db.get_value("PT Conversation", {"reference_doctype": doctype, "reference_name": ticket},
							  ["key", "thread_root"])
	return (row[0], row[1]) if row else (None, None)


def live_decisions(rows: list[dict]) -> dict[str, LiveDecision]:
	"""How the app routed each of these received Communications live (none for mail stock
	routed): its recorded action and rule, and the ticket that put it on. Two indexed reads."""
	names = [r.name for r in rows if r.sent_or_received == "Received"]
	if not names:
		return {}
	recorded = frappe.get_all("PT Conversation Message", filters={"communication": ["in", names]},
							  fields=["communication", "action", "rule", "conversation"])
	conversations = {c for c in (r.conversation for r in recorded) if c}
	tickets = dict(frappe.get_all("PT Conversation", filters={"name": ["in", list(conversations)]},
								  fields=["name", "reference_name"], as_list=True)) if conversations else {}
	return {r.communication: LiveDecision(r.action or "", r.rule or "", tickets.get(r.conversation))
			for r in recorded if r.rule != "backfill"}


def doctypes() -> tuple[str, ...]:
	"""The ticket kinds a preview replays: Issue, and HD Ticket where Frappe Helpdesk is."""
	return conversations.doctypes() or (settings.conversation_doctype(),)


def _conditions(account: str | None, since: str | None, until: str | None = None):
	Comm = frappe.qb.DocType("Communication")
	kinds = doctypes()
	inboxes = frappe.get_all("Email Account", filters={"append_to": ["in", kinds]}, pluck="name")
	inboxes += frappe.get_all("IMAP Folder", filters={"append_to": ["in", kinds], "parenttype": "Email Account"},
							  pluck="parent")
	ours = Comm.reference_doctype.isin(kinds) | (
		Comm.reference_name.isnull() & (Comm.sent_or_received == "Received") & Comm.email_account.isin(inboxes or [""]))
	where = (Comm.communication_medium == "Email") & Comm.sent_or_received.isin(("Received", "Sent")) & ours
	if account:
		where &= Comm.email_account == account
	if since:
		where &= Comm.creation >= get_datetime(since)
	if until:
		where &= Comm.creation < add_days(getdate(until), 1)
	return Comm, where


def count(account: str | None = None, since: str | None = None, until: str | None = None) -> int:
	Comm, where = _conditions(account, since, until)
	return frappe.qb.from_(Comm).select(Count("*")).where(where).run()[0][0]


def history(account: str | None = None, since: str | None = None, until: str | None = None,
			batch: int = BATCH) -> Iterator[list[dict]]:
	"""The Communications to replay in arrival order, a batch at a time (keyset pagination:
	each batch is one indexed range read, whatever the history's size)."""
	Comm, where = _conditions(account, since, until)
	last = None
	while True:
		query = frappe.qb.from_(Comm).select(*(getattr(Comm, f) for f in FIELDS)).where(where)
		if last:
			query = query.where((Comm.creation > last[0]) | ((Comm.creation == last[0]) & (Comm.name > last[1])))
		rows = query.orderby(Comm.creation).orderby(Comm.name).limit(batch).run(as_dict=True)
		if not rows:
			return
		parents = {r.in_reply_to for r in rows if r.in_reply_to and not r.pt_headers}
		ids = dict(frappe.get_all("Communication", filters={"name": ["in", list(parents)]},
								  fields=["name", "message_id"], as_list=True)) if parents else {}
		for row in rows:
			row.parent_message_id = ids.get(row.in_reply_to)
		yield rows
		last = (rows[-1].creation, rows[-1].name)


def _aware(value) -> datetime:
	return get_datetime(value).replace(tzinfo=ZoneInfo(get_system_timezone()))


def replay(account: str | None = None, since: str | None = None, until: str | None = None,
		   on_batch: Callable[[int], bool] | None = None) -> tuple[ComparisonReport, dict]:
	"""Replay and compare; ``on_batch(done)`` after each batch, returning False to stop.
	Returns the report and {replayed, without_headers, stopped, ticket_doctypes} (the last:
	each disagreement's ticket DocType, by Communication)."""
	stats = {"replayed": 0, "without_headers": 0, "stopped": False, "ticket_doctypes": {}}
	report = ComparisonReport()
	served = {}  # Email Account -> the ticket kind its mail opens (for mail stock put on no ticket)
	with contextlib.ExitStack() as open_replays:
		replayers = {}

		def replayer_of(row) -> tuple[str, Replayer]:
			"""The replay of the row's ticket kind: where stock put it, else what its inbox opens."""
			doctype = row.reference_doctype
			if not doctype:
				if row.email_account not in served:
					served[row.email_account] = (conversations.account_doctype(row.email_account)
												 if row.email_account else settings.conversation_doctype())
				doctype = served[row.email_account]
			if doctype not in replayers:
				replayers[doctype] = open_replays.enter_context(
					Replayer(site_config(doctype), partial(identity, doctype), report=report))
			return doctype, replayers[doctype]

		for rows in history(account, since, until):
			live = live_decisions(rows)
			for row in rows:
				doctype, replayer = replayer_of(row)
				raw = rebuild_message(
					row.pt_headers, message_id=normalize_message_id(row.message_id or ""),
					in_reply_to=normalize_message_id(row.parent_message_id or ""), subject=row.subject or "",
					sender=row.sender or "", recipients=row.recipients or "", cc=row.cc or "",
					date=None, html=row.content or "")
				message, at = parse_message(raw), _aware(row.communication_date or row.creation)
				if row.sent_or_received == "Sent":
					if row.reference_name:
						replayer.feed_sent(message, row.reference_name, at)
				else:
					compared = replayer.feed_received(message, row.reference_name or None, row.name, at,
													  live=live.get(row.name))
					if compared is not None and compared.outcome in DISAGREEMENTS:
						stats["ticket_doctypes"][row.name] = doctype
					stats["without_headers"] += not row.pt_headers
				stats["replayed"] += 1
			if on_batch and on_batch(stats["replayed"]) is False:
				stats["stopped"] = True
				break
	return report, stats


def _system_manager_only() -> None:
	"""A preview reads every mail of the site (frappe.only_for is a no-op in tests)."""
	if "System Manager" not in frappe.get_roles():
		raise frappe.PermissionError(_("Only a System Manager may run a preview"))


def start(doc) -> None:
	"""Queue the replay for a PT Preview."""
	_system_manager_only()
	if doc.status in ("Queued", "Running", "Cancelling"):
		frappe.throw(_("This preview is already running"))
	doc.db_set({"status": "Queued", "total": count(doc.email_account, doc.since, doc.until), "processed": 0,
				"disagreement_count": 0, "without_headers": 0, "error": None, "summary": None,
				"started_at": None, "finished_at": None})
	frappe.enqueue("persona_threading.frappe_adapter.preview.run", queue="long", timeout=6 * 3600,
				   job_id=f"pt-preview::{doc.name}", deduplicate=True, enqueue_after_commit=True, preview=doc.name)


def cancel(doc) -> None:
	_system_manager_only()
	if doc.status in ("Queued", "Running"):
		doc.db_set("status", "Cancelling")


def run(preview: str) -> None:
	"""The background job: replay, publish progress, store the report."""
	doc = frappe.get_doc(PREVIEW, preview)
	if doc.status == "Cancelling":
		doc.db_set("status", "Cancelled")
		return
	doc.db_set({"status": "Running", "started_at": now_datetime()}, commit=True)
	total = max(doc.total or 0, 1)

	def on_batch(done: int) -> bool:
		frappe.db.set_value(PREVIEW, preview, "processed", done, update_modified=False)
		frappe.db.commit()  # the form sees the count, and this job sees a cancel
		frappe.publish_progress(min(100, done * 100 / total), title=_("Replaying mail history"),
								doctype=PREVIEW, docname=preview, description=f"{done} / {total}")
		return frappe.db.get_value(PREVIEW, preview, "status") != "Cancelling"

	try:
		report, stats = replay(doc.email_account, doc.since, doc.until, on_batch)
	except Exception:
		frappe.db.rollback()
		frappe.db.set_value(PREVIEW, preview, {"status": "Failed", "error": frappe.get_traceback()[-5000:],
											   "finished_at": now_datetime()})
		frappe.db.commit()
		raise
	save_report(preview, report, stats)


def save_report(preview: str, report: ComparisonReport, stats: dict) -> None:
	doc = frappe.get_doc(PREVIEW, preview)
	summary = report.as_dict()
	summary.pop("disagreements")
	# differences named as depending on time or a later edit: listed on the form, not counted
	summary["named"] = [{key: c[key] for key in ("ref", "outcome", "rule", "cause", "sender", "subject",
											  "their_ticket")} for c in summary["named"][:NAMED_SHOWN]]
	doc.update({"status": "Cancelled" if stats["stopped"] else "Done", "processed": stats["replayed"],
				"without_headers": stats["without_headers"], "disagreement_count": len(report.disagreements),
				"summary": frappe.as_json(summary), "finished_at": now_datetime(), "disagreements": []})
	doctypes = stats.get("ticket_doctypes") or {}
	for c in report.disagreements:
		engine_ticket = c.engine_ticket if c.engine_ticket and not c.engine_ticket.startswith("new:") else None
		doc.append("disagreements", {
			"communication": c.ref, "outcome": c.outcome, "rule": c.rule,
			"ticket_doctype": doctypes.get(c.ref, settings.conversation_doctype()),
			"stock_ticket": c.their_ticket, "engine_ticket": engine_ticket, "sender": (c.sender or "")[:140],
			"subject": (c.subject or "")[:140], "explanation": c.explanation,
		})
	doc.save(ignore_permissions=True)
	_attach_csv(doc, report)
	frappe.db.commit()
	frappe.publish_realtime("pt_preview_done", {"name": preview}, doctype=PREVIEW, docname=preview)


def _attach_csv(doc, report: ComparisonReport) -> None:
	"""The disagreements as CSV (the CLI's columns), a private file on the preview."""
	buffer = io.StringIO(newline="")
	report.write_csv(buffer)
	frappe.get_doc({"doctype": "File", "file_name": f"{doc.name}-disagreements.csv", "is_private": 1,
					"attached_to_doctype": PREVIEW, "attached_to_name": doc.name,
					"content": buffer.getvalue()}).save(ignore_permissions=True)
