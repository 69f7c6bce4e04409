"""bench commands: `bench --site S persona-threading explain|backfill`."""

from __future__ import annotations

import click
from frappe.commands import get_site, pass_context


@click.group("persona-threading")
def persona_threading():
	"""Explain routing decisions and build conversations for existing history."""


@persona_threading.command("explain")
@click.argument("target")
@pass_context
def explain(context, target):
	"""TARGET: a Communication name (its stored decision) or a path to an .eml (routed now, not stored)."""
	import os

	import frappe

	from .frappe_adapter import api, settings
	from .frappe_adapter.lookup import FrappeLookup

	frappe.init(site=get_site(context))
	frappe.connect()
	try:
		if os.path.isfile(target):
			from .engine.message import parse_message
			from .engine.router import route

			with open(target, "rb") as handle:
				message = parse_message(handle.read())
			decision = route(message, FrappeLookup(), settings.keyring(), exhaustive=True)
			click.echo(decision.explain())
			return
		row = frappe.db.get_value("PT Conversation Message", {"communication": target}, "decision")
		if row is None:
			raise click.ClickException(f"no routing decision recorded for Communication {target!r}")
		import json

		click.echo(api.explain_stored(json.loads(row)))
	finally:
		frappe.destroy()


@persona_threading.command("backfill")
@click.option("--batch-size", default=500, show_default=True)
@pass_context
def backfill(context, batch_size):
	"""Build conversations for existing documents and their Communications."""
	import frappe

	from .frappe_adapter.backfill import backfill_all

	frappe.init(site=get_site(context))
	frappe.connect()
	try:
		done = backfill_all(batch_size=batch_size, progress=click.progressbar)
		click.echo(f"backfilled {done['documents']} documents, {done['messages']} messages")
	finally:
		frappe.destroy()


commands = [persona_threading]
