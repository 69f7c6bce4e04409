"""Statements every received mail runs, written with frappe.qb and built once per process.

frappe.qb builds a query in about as much time as the database takes to answer these
indexed lookups (a mail's Message-IDs: 0.47 ms to build, 0.39 ms to run, measured), and a
mail runs a dozen of them. So each is written with frappe.qb as usual, with named
placeholders where its values go (``Parameter("%(ids)s")``; ``IN %(ids)s`` takes a tuple),
built the first time it runs, and then run as that SQL with each mail's values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import frappe
from pypika.terms import Parameter


def prepared(build: Callable[[], object]) -> Callable[..., list]:
	"""Decorator: ``build()`` returns a frappe.qb query with named placeholders; the decorated
	function runs it with keyword values (a tuple for each ``IN``), built once per database
	type and process (the SQL names no site: the same for every site a worker serves)."""
	built: dict[str, str] = {}

	@functools.wraps(build)
	def run(**values) -> list:
		db_type = frappe.db.db_type
		if db_type not in built:
			built[db_type] = build().get_sql()
		return frappe.db.sql(built[db_type], values)

	return run


def placeholder(name: str) -> Parameter:
	"""Where the value called ``name`` goes in a prepared statement."""
	return Parameter(f"%({name})s")
