"""Communication.pt_headers (the received mail's header block, for the preview) was stored
through Frappe's XSS filter, which escaped it: ``From: Maria <maria@acme.test>`` became
``From: Maria &lt;maria@acme.test&gt;``, and a replay could read neither From nor
In-Reply-To nor References. The field now skips the filter (install.py); this puts back the
rows stored before. A row is escaped when it has no raw angle bracket (every header block
with an address or a Message-ID has one) but the filter's entities; only those three are
undone, in one pass (``&amp;lt;`` stays ``&lt;``).

What the filter lost cannot come back, and neither loss changes what a replay reads (From,
Message-ID, In-Reply-To, References, Thread-Index, Auto-Submitted):
- line endings: it turned CRLF into LF; the block stays LF (the parser reads either);
- an entity written in the mail itself: the filter kept a literal ``&amp;`` or ``&lt;`` as
  it was, so it cannot be told from an escaped ``&`` or ``<`` and now reads ``&`` or ``<``
  (a subject ``R&amp;D`` reads ``R&D``).
A row where the filter kept a raw tag it allows (a subject with ``<b>``) is left as it is."""

import re

import frappe

_ENTITY = re.compile(r"&(lt|gt|amp);")
_PLAIN = {"lt": "<", "gt": ">", "amp": "&"}
BATCH = 500


def unescaped(block: str | None) -> str | None:
	"""The header block as received, or None when it was not escaped."""
	if not block or "<" in block or ">" in block or not _ENTITY.search(block):
		return None
	return _ENTITY.sub(lambda m: _PLAIN[m.group(1)], block)


def execute():
	"""Walk Communication by its primary key in batches (each query bounded; a LIKE over a
	large table of 64 KB header blocks would read it whole per batch) and fix in Python."""
	if not frappe.db.has_column("Communication", "pt_headers"):
		return
	Comm = frappe.qb.DocType("Communication")
	last = ""
	while True:
		rows = (frappe.qb.from_(Comm).select(Comm.name, Comm.pt_headers)
				.where((Comm.name > last) & Comm.pt_headers.isnotnull())
				.orderby(Comm.name).limit(BATCH).run())
		if not rows:
			return
		for name, block in rows:
			fixed = unescaped(block)
			if fixed is not None:
				frappe.qb.update(Comm).set(Comm.pt_headers, fixed).where(Comm.name == name).run()
		last = rows[-1][0]
