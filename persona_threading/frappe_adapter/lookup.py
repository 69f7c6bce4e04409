"""FrappeLookup: the engine's Lookup protocol on Frappe tables.

Every method is an equality lookup on an indexed column (unique or search_index fields of
the PT DocTypes, Project.pt_inbound_prefix, Email Account.email_id, User.name, and for
history from before the app Communication.message_id and Email Queue.message_id), so
routing cost does not grow with the number of Communications.
"""

from __future__ import annotations

import json
import pickle
from datetime import timezone
from typing import Sequence

import frappe
from frappe.query_builder import Order
from frappe.query_builder.functions import Count
from frappe.utils import get_datetime, now_datetime
from pypika.terms import NullValue, ValueWrapper

from ..engine.lookup import Inbox, Project, StoredMessage
from ..engine.participants import Participant
from . import conversations, pull
from .conversations import PROJECT, Target
from .settings import conversation_doctype
from .statements import placeholder, prepared

AGENT_ROLE = "Support Team"  # ERPNext's: adds CCs and replies publicly by email
LIGHT_AGENT_ROLE = "PT Light Agent"  # reads conversations, writes internal notes; never adds CCs
MAX_NAMED = 50  # addresses of one mail whose roles one query reads (a hostile mail names thousands)
RECORD, COMMUNICATION, QUEUE = "PT Conversation Message", "Communication", "Email Queue"  # whose row (_ids_read)


class FrappeLookup:
	def __init__(self, target: Target | None = None, account=None, named: Sequence[str] = (),
				 message_ids: Sequence[str] = ()):
		#: What ``#PREFIX`` and scopes name: Projects, or HD Teams for an HD Ticket inbox. None:
		#: the kind of the receiving inbox (the first inbox this lookup is asked about: route()
		#: resolves the receiving inbox before any rule runs).
		self.target = target
		#: The receiving Email Account as the pull loaded it: its scopes are read from it.
		self.account = account
		#: The addresses the mail being routed names: whose roles are read in one query, when
		#: the engine first asks about any of them (it asks about most).
		self.named = tuple(dict.fromkeys(a.lower() for a in named if a))[:MAX_NAMED]
		#: Message-ID (lower case) -> the Communication recorded for it, of the ids looked up.
		self.communications: dict[str, str] = {}
		#: Message-IDs (lower case) looked up that no Communication carries.
		self.not_in_communications: set[str] = set()
		#: Conversation -> its followers as this lookup last read them.
		self.participants_read: dict[str, list[Participant]] = {}
		#: Conversation -> its document (doctype, name), of the records read.
		self.documents: dict[str, tuple[str, str]] = {}
		#: The Message-IDs the mail being routed names (its own, In-Reply-To, References): their
		#: records are read in one query when the engine first asks about any of them.
		self.message_ids = tuple(dict.fromkeys(i for i in message_ids if i))[:MAX_NAMED]
		self._named_ids = {i.lower() for i in self.message_ids}
		self._named: tuple[list[tuple], list[tuple]] | None = None

	def conversation_by_key(self, key: str) -> str | None:
		Conversation = frappe.qb.DocType("PT Conversation")
		rows = frappe.qb.from_(Conversation).select(Conversation.name).where(Conversation.key == key).run()
		return rows[0][0] if rows else None

	def messages_by_ids(self, message_ids: Sequence[str]) -> list[StoredMessage]:
		"""Recorded messages; ids the app has no record of fall back to stock's own records
		(Communication.message_id, Email Queue.message_id, indexed by Frappe, read in the same
		statement): the document such mail belongs to is adopted on the spot (backfill of that
		one document), so mail the site stored or sent before the app was installed or switched
		on threads here too."""
		ids = [mid for mid in dict.fromkeys(message_ids) if mid]  # "" would name every mail without an id
		if not ids:
			return []
		rows, stock_rows = self._read(ids)
		missing = {mid.lower() for mid in ids} - {row[0].lower() for row in rows}
		if missing:
			from .backfill import adopt_history

			adopted, carried = adopt_history([row for row in stock_rows if row[1].lower() in missing])
			self.not_in_communications |= missing - carried
			if adopted:  # documents, their messages and followers recorded just now
				self.participants_read.clear()
				self._named = None
				rows = self._read(ids)[0]
		for mid, conversation, *_, communication, _, doctype, name in rows:
			if communication:  # the newest record of each id that has one
				self.communications.setdefault(mid.lower(), communication)
			if conversation and doctype and name:
				self.documents[conversation] = (doctype, name)
		return [StoredMessage(mid, conv or None, len(rows) - i, digest or None, sender or None, sent or None)
				for i, (mid, conv, digest, sender, sent, *_) in enumerate(rows)]

	def _read(self, ids: list[str]) -> tuple[list[tuple], list[tuple]]:
		"""The app's records of these ids (newest first) and stock's (``_ids_read``). The first
		ask about ids the mail names (its own, In-Reply-To, References) reads all of them in one
		statement; later asks are answered from it (an adoption that records some makes
		messages_by_ids forget it)."""
		wanted = {mid.lower() for mid in ids}
		if not wanted <= self._named_ids:
			return _ids_read(ids)
		if self._named is None:
			self._named = _ids_read(self.message_ids)
		records, stock_rows = self._named
		return ([row for row in records if row[0].lower() in wanted],
				[row for row in stock_rows if row[1].lower() in wanted])

	def conversation_by_thread_root(self, root: str) -> str | None:
		Conversation = frappe.qb.DocType("PT Conversation")
		rows = frappe.qb.from_(Conversation).select(Conversation.name).where(Conversation.thread_root == root).run()
		if rows:
			return rows[0][0]
		Message = frappe.qb.DocType("PT Conversation Message")
		rows = (
			frappe.qb.from_(Message)
			.select(Message.conversation)
			.where((Message.thread_root == root) & Message.conversation.isnotnull())
			.limit(1)
			.run()
		)
		return rows[0][0] if rows else None

	def project_by_prefix(self, prefix: str) -> Project | None:
		"""The routing target (a Project, or an HD Team for an HD Ticket inbox) with this prefix."""
		target = self.target or PROJECT
		if not frappe.get_meta(target.doctype).has_field(target.prefix_field):
			return None
		Table = frappe.qb.DocType(target.doctype)
		rows = (
			frappe.qb.from_(Table)
			.select(Table.name, Table[target.prefix_field], Table[target.title_field], Table[target.accepts_field])
			.where(Table[target.prefix_field] == prefix)
			.run()
		)
		return Project(rows[0][0], rows[0][1], rows[0][2] or "", bool(rows[0][3])) if rows else None

	def inbox(self, address: str) -> Inbox | None:
		found = pull.once(("inbox", address), lambda: self._inbox(address))
		if found is None:
			return None
		inbox, target = found
		if self.target is None:
			self.target = target
		return inbox

	def _inbox(self, address: str) -> tuple[Inbox, Target] | None:
		found = pull.once("inbox addresses", _inbox_addresses).get((address or "").lower())
		if found is None:
			return None
		name, email_id = found
		if getattr(self.account, "name", None) == name:
			return _inbox_of(self.account, email_id)
		try:
			return _inbox_of(frappe.get_cached_doc("Email Account", name), email_id)
		except frappe.DoesNotExistError:  # deleted without its hooks since it was kept
			frappe.clear_last_message()
			forget_inbox_addresses()
			return None

	def is_active_user(self, address: str) -> bool:
		return self._desk_user(address) is not None

	def participants(self, conversation: str) -> list[Participant]:
		rows = _followers_of(conversation=conversation)
		people = [Participant(email, role, bool(active)) for email, role, active in rows]
		self.participants_read[conversation] = people
		return people

	def is_agent(self, address: str) -> bool:
		"""ERPNext's Support Team, and Frappe Helpdesk's agents where it is installed."""
		return any(self._has_role(address, role) for role in conversations.agent_roles())

	def is_light_agent(self, address: str) -> bool:
		return self._has_role(address, LIGHT_AGENT_ROLE)

	def _has_role(self, address: str, role: str) -> bool:
		return role in (self._desk_user(address) or ())

	def _desk_user(self, address: str) -> frozenset[str] | None:
		"""The roles of an enabled desk (System) user, None for anyone else: read once per
		address and pull (User by name, Has Role by parent), whatever is asked about them, and
		with the other addresses the mail names in the same query."""
		address = (address or "").lower()
		return pull.once(("desk user", address), lambda: self._read_desk_users(address))

	def _read_desk_users(self, address: str) -> frozenset[str] | None:
		wanted = [address, *(a for a in self.named if a != address and not pull.known(("desk user", a)))]
		rows = _desk_users(names=tuple(wanted))
		roles: dict[str, set[str]] = {}
		for name, role in rows:
			roles.setdefault(name.lower(), set()).update([role] if role else [])
		for other in wanted[1:]:
			pull.remember(("desk user", other), frozenset(roles[other]) if other in roles else None)
		return frozenset(roles[address]) if address in roles else None

	def participant_role(self, conversation: str, address: str) -> str | None:
		Follower = frappe.qb.DocType("PT Conversation Follower")
		rows = (
			frappe.qb.from_(Follower)
			.select(Follower.role)
			.where((Follower.conversation == conversation) & (Follower.email == address) & (Follower.active == 1))
			.limit(1)
			.run()
		)
		return rows[0][0] if rows else None

	# Counts for the flood guard and the automatic-reply limits (indexed column + creation).

	def conversations_opened_by(self, sender: str, since) -> int:
		return _count("PT Conversation", "opened_by", sender, since)

	def automatic_mails_to(self, address: str, since) -> int:
		return _count("PT Automatic Mail", "recipient", address, since, sent=1)

	def automatic_mails_in(self, conversation: str, since) -> int:
		return _count("PT Automatic Mail", "conversation", conversation, since, sent=1)


def _ids_read(ids: Sequence[str]) -> tuple[list[tuple], list[tuple]]:
	"""What the site knows of these Message-IDs, in one statement (every received mail asks
	it about its own id): the app's records, newest first, with their conversation's document
	(message_id, conversation, digest, sender, sent_date, communication, creation, doctype,
	name); and stock's, for mail from before the app (backfill.adopt_history's rows: kind,
	message_id, doctype, name, sender, creation): its Communications, and the Email Queue of
	its conversation DocTypes (stock's own sent mail without a Communication)."""
	doctypes = list(conversations.doctypes()) or [conversation_doctype()]  # Issue, HD Ticket
	rows = _ids_statement(ids=tuple(ids), doctypes=tuple(doctypes))
	records = sorted((row[1:] for row in rows if row[0] == RECORD), key=lambda row: row[6], reverse=True)
	stock_rows = [(kind, mid, doctype, name, sender, creation)
				  for kind, mid, _, _, sender, _, _, creation, doctype, name in rows if kind != RECORD]
	return records, stock_rows


@prepared
def _ids_statement():
	Message, Conversation = frappe.qb.DocType("PT Conversation Message"), frappe.qb.DocType("PT Conversation")
	Comm, Queue = frappe.qb.DocType("Communication"), frappe.qb.DocType("Email Queue")
	ids, none = placeholder("ids"), NullValue()
	return (
		frappe.qb.from_(Message)
		.left_join(Conversation).on(Conversation.name == Message.conversation)
		.select(ValueWrapper(RECORD), Message.message_id, Message.conversation, Message.digest, Message.sender,
				Message.sent_date, Message.communication, Message.creation, Conversation.reference_doctype,
				Conversation.reference_name)
		.where(Message.message_id.isin(ids))
		.union_all(
			frappe.qb.from_(Comm)
			.select(ValueWrapper(COMMUNICATION), Comm.message_id, none, none, none, none, none, none,
					Comm.reference_doctype, Comm.reference_name)
			.where(Comm.message_id.isin(ids)))
		.union_all(
			frappe.qb.from_(Queue)
			.select(ValueWrapper(QUEUE), Queue.message_id, none, none, Queue.sender, none, none, Queue.creation,
					Queue.reference_doctype, Queue.reference_name)
			.where(Queue.message_id.isin(ids) & Queue.reference_doctype.isin(placeholder("doctypes"))
				   & Queue.reference_name.isnotnull()))
	)


@prepared
def _desk_users():
	"""Enabled desk users among ``names``, each with each of their roles."""
	User, HasRole = frappe.qb.DocType("User"), frappe.qb.DocType("Has Role")
	return (
		frappe.qb.from_(User)
		.left_join(HasRole).on((HasRole.parent == User.name) & (HasRole.parenttype == "User"))
		.select(User.name, HasRole.role)
		.where(User.name.isin(placeholder("names")) & (User.enabled == 1) & (User.user_type == "System User"))
	)


@prepared
def _followers_of():
	Follower = frappe.qb.DocType("PT Conversation Follower")
	return (frappe.qb.from_(Follower).select(Follower.email, Follower.role, Follower.active)
			.where(Follower.conversation == placeholder("conversation")).orderby(Follower.creation))


@prepared
def _email_accounts():
	Account = frappe.qb.DocType("Email Account")
	return (frappe.qb.from_(Account).select(Account.name, Account.email_id)
			.where(Account.email_id.isnotnull()).orderby(Account.creation))


def _inbox_of(account, email_id: str) -> tuple[Inbox, Target]:
	"""An Email Account as the engine sees an inbox: its approved, receiving scopes and its
	default landing target (Projects, or HD Teams when its mail appends to HD Ticket)."""
	target = conversations.account_target(account)
	scopes = sorted(account.get(target.scopes_field) or [], key=lambda row: row.idx or 0)
	eligible = tuple(row.get(target.scope_field) for row in scopes if row.approved and row.receive_enabled)
	return Inbox(email_id, eligible, account.get(target.default_field) or None, has_scopes=bool(scopes)), target


#: Every Email Account by its address, kept in the site's cache between pulls: each pull
#: asks (a statement a mail, for a table that changes when an admin edits an inbox).
INBOX_ADDRESSES_KEY = "persona_threading:inbox_addresses"
INBOX_ADDRESSES_KEPT_SECONDS = 600  # also what an edit that runs no hooks (a raw set_value) may wait


def _inbox_addresses() -> dict[str, tuple[str, str]]:
	"""Every Email Account by its address (lower case): a mail names several addresses and
	most are no inbox; the table holds a site's few inboxes. Read in one query and kept in
	the site's cache; a change to an Email Account writes them afresh (forget_inbox_addresses)."""
	found = frappe.cache.get_value(INBOX_ADDRESSES_KEY, expires=True)
	if found is None:
		found = _read_inbox_addresses()
		_keep_inbox_addresses(found, only_if_absent=True)  # never over what a committed change wrote
	return found


def _read_inbox_addresses() -> dict[str, tuple[str, str]]:
	found = {}
	for name, email_id in _email_accounts():
		found.setdefault(email_id.lower(), (name, email_id))
	return found


def _keep_inbox_addresses(found: dict, only_if_absent: bool) -> None:
	frappe.cache.set(frappe.cache.make_key(INBOX_ADDRESSES_KEY), pickle.dumps(found),
					 ex=INBOX_ADDRESSES_KEPT_SECONDS, nx=only_if_absent)


def forget_inbox_addresses(doc=None, method=None, *args) -> None:
	"""Email Account on_update, on_trash, after_rename (and Frappe's clear-cache): dropped now;
	once the change commits, written afresh from what it committed, so a pull that read the
	old ones meanwhile cannot put them back (it writes only where nothing is); undone, dropped
	again."""
	frappe.cache.delete_value(INBOX_ADDRESSES_KEY)
	if not frappe.flags.pt_inbox_addresses_changed and getattr(frappe.local, "db", None):
		frappe.flags.pt_inbox_addresses_changed = True
		frappe.db.after_commit.add(_inbox_addresses_committed)
		frappe.db.after_rollback.add(_inbox_addresses_undone)


def _inbox_addresses_committed() -> None:
	frappe.flags.pt_inbox_addresses_changed = False
	_keep_inbox_addresses(_read_inbox_addresses(), only_if_absent=False)


def _inbox_addresses_undone() -> None:
	frappe.flags.pt_inbox_addresses_changed = False
	frappe.cache.delete_value(INBOX_ADDRESSES_KEY)


def _count(doctype: str, column: str, value: str, since, **equal) -> int:
	"""Rows of ``doctype`` with ``column == value`` created at or after ``since`` (site time)."""
	Table = frappe.qb.DocType(doctype)
	condition = (Table[column] == value) & (Table.creation >= _site_time(since))
	for name, wanted in equal.items():
		condition &= Table[name] == wanted
	return frappe.qb.from_(Table).select(Count("*")).where(condition).run()[0][0]


def _site_time(moment):
	"""The engine counts in aware datetimes; Frappe stores naive datetimes in the site's zone."""
	if getattr(moment, "tzinfo", None) is None:
		return moment
	from frappe.utils import convert_utc_to_system_timezone

	return convert_utc_to_system_timezone(moment.astimezone(timezone.utc)).replace(tzinfo=None)


def days_in_status(doc) -> float:
	"""How long the document has been in its current status, for the reopen/thank-you windows.

	From the version log (indexed on ref_doctype + docname): the newest change of ``status``
	that set the current one. Later edits of other fields do not move it, unlike ``modified``.
	A status set without a version (``db.set_value``, e.g. ERPNext's list action) falls back
	to ``modified``; one the document was created with, to ``creation``.
	"""
	Version = frappe.qb.DocType("Version")
	rows = (
		frappe.qb.from_(Version)
		.select(Version.data, Version.creation)
		.where((Version.ref_doctype == doc.doctype) & (Version.docname == doc.name))
		.orderby(Version.creation, order=Order.desc)
		.limit(100)
		.run()
	)
	since = None
	for data, created in rows:
		try:
			changed = json.loads(data or "{}").get("changed") or []
		except ValueError:
			continue
		status_change = next((row for row in changed if row and row[0] == "status"), None)
		if status_change:
			since = created if status_change[-1] == doc.status else doc.modified
			break
	if since is None:
		since = doc.modified if rows else doc.creation
	return max((now_datetime() - get_datetime(since)).total_seconds() / 86400, 0.0)
