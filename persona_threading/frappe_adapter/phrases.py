"""What the app stores for people to read later, said in the reader's language.

An audit note, a third party's warning, why a mail waits in the queue: each is stored as
the engine's Phrase (template and parameters, as JSON) and said with ``_()`` when someone
reads it (engine.phrases), so one stored row reads in German to a German agent and in
English to an English one. Rows from before hold English text: they are shown as stored.
"""

from __future__ import annotations

import html
import json

from frappe import _

from ..engine.phrases import Phrase, is_phrase_data, said

#: Stored phrases start so (``stored``): anything else is text from before.
MARK = '{"phrase":'


def stored(text: str | None) -> str | None:
	"""What goes into the database: a Phrase as JSON, any other text as it is. The JSON holds
	no ``<``, ``>`` or ``&`` (escaped as \\u003c…), so Frappe's XSS filter leaves it whole."""
	if not isinstance(text, Phrase):
		return text
	data = json.dumps(text.as_data(), ensure_ascii=False)
	return data.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _data(value):
	"""The phrase data of a stored value (JSON text, or already parsed), else None."""
	if is_phrase_data(value):
		return value
	if isinstance(value, str) and value.startswith(MARK):
		try:
			data = json.loads(value)
		except ValueError:
			return None
		return data if is_phrase_data(data) else None
	return None


def is_stored_phrase(value) -> bool:
	return _data(value) is not None


def shown(value: str | None) -> str:
	"""Plain text in the reader's language (a row from before: as stored)."""
	data = _data(value)
	return said(data, _) if data is not None else (value or "")


def shown_html(value: str | None) -> str:
	"""HTML for the timeline: a phrase said and escaped; a row from before is the escaped
	HTML it was stored as."""
	data = _data(value)
	return html.escape(said(data, _)) if data is not None else (value or "")

