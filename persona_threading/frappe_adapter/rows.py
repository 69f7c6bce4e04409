"""How the app writes its own rows (conversations, messages, followers, journal entries):
values fitted to their columns and Frappe's XSS filter, inserted without Frappe's validation
lifecycle. What is written, and when, is store.py's and journal.py's to say.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import frappe
from frappe.model.dynamic_links import invalidate_distinct_link_doctypes
from frappe.model.naming import make_autoname
from frappe.utils.html_utils import is_json, sanitize_html

from ..engine.decoding import storable_text


#: Text fields that hold words, never HTML, in the app's own DocTypes (a decision's evidence,
#: a warning); stock's (a Communication's subject) keep Frappe's filter.
PLAIN_TEXT = frozenset({"Small Text", "Text", "Long Text"})
APP_MODULE = "Persona Threading"


def fitted(doctype: str, values: dict) -> dict:
	"""``values`` as the database will hold them: text valid UTF-8 (engine.decoding), and each
	Data field as Frappe's XSS filter leaves it (a mail's ``<x@y>`` becomes ``&lt;x@y&gt;``),
	cut to its column (a 140-character Date header became 180 once escaped). A text field of
	the app's is escaped whole: it holds words, and Frappe's filter parsed it as HTML to the
	same end (the Message-ID in an evidence, 0.2 ms a mail); JSON it leaves whole, as the
	filter does. Done here, once: the filter on save then finds nothing left to escape."""
	meta = frappe.get_meta(doctype)
	words = meta.module == APP_MODULE
	out = {}
	for key, value in values.items():
		if isinstance(value, str):
			value = storable_text(value)
			field = meta.get_field(key)
			if field and field.fieldtype == "Data":
				value = _fit(value, field.length or 140, not _xss_filtered(field))
			elif (words and field and field.fieldtype in PLAIN_TEXT and _xss_filtered(field)
				  and ("<" in value or ">" in value) and not is_json(value)):  # JSON: as the filter leaves it
				value = html.escape(value, quote=False)
		out[key] = value
	return out


def _xss_filtered(field) -> bool:
	"""Whether Frappe's XSS filter escapes this field on save (BaseDocument._sanitize_content)."""
	return not (field.ignore_xss_filter or field.options == "Email")


def _fit(value: str, length: int, raw: bool) -> str:
	value = value[:length]
	if raw or ("<" not in value and ">" not in value):
		return value
	clean = sanitize_html(value)
	while len(clean) > length:  # shrinks by the expansion: a few rounds
		value = value[:max(len(value) * length // len(clean) - 1, 0)]
		clean = sanitize_html(value)
	return clean


def record(doc) -> None:
	"""Insert one of the app's own bookkeeping rows (a conversation, a message with its
	followers, a follower). They have no controller logic and hold only values the app just
	read or made, so Frappe's validation lifecycle (link checks, validate and save hooks) is
	skipped: it was a third of the app's own cost per stored mail (``make bench``). What a
	mail wrote still goes through Frappe's XSS filter (list and report views show these
	fields as HTML); unique indexes still hold (UniqueValidationError), and after_insert
	listeners still hear of it. Child rows go in one statement per table."""
	name_row(doc)
	doc.set_parent_in_children()
	doc._sanitize_content()
	doc.db_insert()
	dynamic_links_written(doc)
	rows: dict[str, list[dict]] = {}
	for child in doc.get_all_children():
		name_row(child)
		child._sanitize_content()
		child.creation = child.modified = doc.creation
		child.owner = child.modified_by = doc.owner
		rows.setdefault(child.doctype, []).append(child.get_valid_dict(convert_dates_to_str=True, ignore_virtual=True))
	for doctype, values in rows.items():  # one statement per child table (a mail's To and Cc: one each)
		insert_rows(doctype, list(values[0]), [tuple(row.values()) for row in values])
	doc.run_method("after_insert")


def dynamic_links_written(doc) -> None:
	"""Frappe keeps which DocTypes each Dynamic Link names (renaming a document updates the
	links from it, for 12 hours without asking again); its link validation, which these rows
	skip, tells it of a DocType new to it. So does this."""
	for field in doc.meta.get("fields", {"fieldtype": "Dynamic Link"}):
		linked = doc.get(field.options)
		if linked and doc.get(field.fieldname):
			invalidate_distinct_link_doctypes(doc.doctype, field.options, linked)


def insert_rows(doctype: str, columns: Sequence[str], rows: Sequence[tuple], ignore_duplicates: bool = False) -> None:
	"""Rows in one parameterised INSERT, written as Frappe's own db_insert writes one row:
	frappe.db.bulk_insert builds the same statement through the query builder, which costs
	more than the database (0.71 ms against 0.35 ms for a mail's two followers, measured)."""
	if not rows:
		return
	ignore = " ignore" if ignore_duplicates and frappe.db.db_type != "postgres" else ""
	conflict = " on conflict (name) do nothing" if ignore_duplicates and frappe.db.db_type == "postgres" else ""
	row = "(" + ", ".join(["%s"] * len(columns)) + ")"
	frappe.db.sql(f"insert{ignore} into `tab{doctype}` ({', '.join(f'`{c}`' for c in columns)}) "
				  f"values {', '.join([row] * len(rows))}{conflict}", [value for values in rows for value in values])


def name_row(doc) -> None:
	"""A random name, as Frappe gives a row named by hash (no naming rule or hook can apply
	to these rows), without its naming lifecycle; any other rule through Frappe's own."""
	if (doc.meta.autoname or "hash") == "hash":
		doc.name = make_autoname("hash", doc.doctype)
	else:
		doc.set_new_name()
