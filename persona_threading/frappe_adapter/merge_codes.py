"""The merge-code Resolver for Frappe: field values along Link fields, with permissions.

The renderer (engine/merge_codes.py) asks only which fields exist, which are Links, and
their values. An inbox's automatic reply is rendered the way stock renders it (Jinja, the
received Communication's fields) with the merge codes in the same context
(``render_auto_reply``). Password fields never render. ``user``: render as that user, so a code
naming a document they may not read stays unknown (snippets); None renders as the system
(an inbox's automatic reply, written by an admin).
"""

from __future__ import annotations

import html
import re

import frappe
from frappe import _
from jinja2 import meta
from markupsafe import Markup, escape

from ..engine.merge_codes import MAX_DEPTH, MAX_OUTPUT_CHARS, MISSING, DocRef, FieldReader, Rendered

_NEVER_RENDERED = frozenset({"Password"})


class FrappeResolver:
	def __init__(self, user: str | None = None):
		self.user = user

	def _field(self, doctype: str, field: str):
		try:
			return frappe.get_meta(doctype).get_field(field)
		except frappe.DoesNotExistError:
			return None

	def has_field(self, doctype: str, field: str) -> bool:
		if field == "name":
			return True
		df = self._field(doctype, field)
		return bool(df) and df.fieldtype not in _NEVER_RENDERED

	def link_doctype(self, doctype: str, field: str) -> str | None:
		df = self._field(doctype, field)
		return df.options if df and df.fieldtype == "Link" else None

	def value(self, doctype: str, name: str, field: str):
		if not name or not self.has_field(doctype, field):
			return None
		if self.user and not self._may_read(doctype, name, field):
			return None
		return frappe.get_cached_value(doctype, name, field)

	def _may_read(self, doctype: str, name: str, field: str) -> bool:
		"""The user reads the document, or the field is its title: what a Link already shows
		them (the Issue form shows its customer's name to an agent who may not open Customer)."""
		if field in ("name", frappe.get_meta(doctype).title_field):
			return True
		return frappe.has_permission(doctype, "read", doc=name, user=self.user)


# -- an inbox's automatic reply: stock's Jinja render, with the merge codes in its context ------

_JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


class TemplateError(frappe.ValidationError):
	"""An automatic reply template that cannot render (refused on save, never mailed)."""


class MergeDoc:
	"""A document in the template's context: ``{{ issue.customer.customer_name }}`` follows Link
	fields through the resolver (engine.merge_codes.FieldReader); a code naming nothing or
	holding nothing renders empty and is noted (``notes.unknown`` / ``notes.empty``)."""

	__slots__ = ("_ref", "_path", "_reader", "_notes")

	def __init__(self, ref: DocRef, path: str, reader: FieldReader, notes: Rendered):
		self._ref, self._path, self._reader, self._notes = ref, path, reader, notes

	def __getattr__(self, field: str):
		if field.startswith("_"):
			raise AttributeError(field)
		path = f"{self._path}.{field}"
		value = self._reader.field(self._ref, field) if path.count(".") < MAX_DEPTH else MISSING
		if isinstance(value, DocRef):
			return MergeDoc(value, path, self._reader, self._notes)
		if value is MISSING or value in (None, ""):
			(self._notes.unknown if value is MISSING else self._notes.empty).append(path)
			return ""
		return as_text(value)

	__getitem__ = __getattr__

	def __str__(self) -> str:
		return self._ref.name

	def __html__(self) -> str:
		return str(escape(self._ref.name))

	def __bool__(self) -> bool:
		return bool(self._ref.name)

	def __eq__(self, other) -> bool:
		return str(self) == str(other)

	def __hash__(self) -> int:
		return hash(self._ref)


def render_auto_reply(template: str, communication: dict, roots: dict[str, DocRef], resolver=None) -> Rendered:
	"""Render an inbox's automatic reply as stock does (Frappe's safe Jinja render, the received
	Communication's fields as context: ``{{ reference_name }}``, ``{% if subject %}``), with the
	merge codes beside them (``{{ issue.customer.customer_name }}``). Values are text (``as_text``:
	a customer's subject never becomes markup); Jinja inside the rich-text editor's HTML is
	read as written (``&gt;`` is ``>`` there). Raises TemplateError when it cannot render."""
	from frappe.utils.jinja import get_jenv
	from jinja2 import TemplateError as JinjaError

	result = Rendered("")
	reader = FieldReader(resolver or FrappeResolver())
	context = {key: _context_value(key, value) for key, value in (communication or {}).items()}
	context.update({root: MergeDoc(ref, root, reader, result) for root, ref in roots.items()})
	source = _JINJA_TAG.sub(lambda m: html.unescape(m.group(0)).replace("\xa0", " "), template or "")
	if ".__" in source:  # what frappe.render_template's safe render refuses
		raise TemplateError(_("The automatic reply uses an illegal template construct (.__)"))
	environment = get_jenv()
	try:
		unknown = sorted(meta.find_undeclared_variables(environment.parse(source)) - set(context)
						 - set(environment.globals))
		if unknown:
			raise TemplateError(_("The automatic reply names {0}, which it does not know. Codes it knows: the received"
								  " mail's fields ({1}, …) and {2}").format(
				", ".join(f"{{{{ {name} }}}}" for name in unknown), "reference_doctype, reference_name, subject, sender",
				", ".join(f"{{{{ {root}.… }}}}" for root in roots)))
		text = environment.from_string(source).render(context)
	except JinjaError as error:
		where = f" (line {error.lineno})" if getattr(error, "lineno", None) else ""
		raise TemplateError(_("The automatic reply template cannot be rendered{0}: {1}").format(where, error)) from error
	except TemplateError:
		raise
	except Exception as error:  # anything the template's expressions raise
		raise TemplateError(_("The automatic reply template cannot be rendered: {0}: {1}").format(
			type(error).__name__, error)) from error
	result.truncated = len(text) > MAX_OUTPUT_CHARS
	result.text = text[:MAX_OUTPUT_CHARS]
	return result


def _context_value(key: str, value):
	"""Fields as text; the mail's content is HTML (Frappe sanitised it when it was stored)."""
	return Markup(value) if key == "content" and isinstance(value, str) else as_text(value)


def as_text(value):
	"""A stored value as text in HTML: escaped once. Frappe's XSS filter stores text that looks
	like markup escaped already ("Fax &lt;broken&gt;"), other text as typed ("Ann <ann@…>",
	"a & b"): both read as text, so a customer's subject never becomes markup."""
	return escape(html.unescape(value)) if isinstance(value, str) else value


class SampleResolver(FrappeResolver):
	"""Answers from the DocType meta with sample values: a template is tried on save without a
	real document (a Link leads on to the linked DocType's fields)."""

	def value(self, doctype: str, name: str, field: str):
		if field == "name":
			return name
		df = self._field(doctype, field)
		if df is None:
			return None
		return _SAMPLES.get(df.fieldtype, lambda: f"({df.label or field})")()


_SAMPLES = {
	"Date": lambda: frappe.utils.getdate(), "Datetime": lambda: frappe.utils.now_datetime(),
	"Int": lambda: 1, "Float": lambda: 1.0, "Currency": lambda: 1.0, "Percent": lambda: 1.0, "Check": lambda: 1,
}
