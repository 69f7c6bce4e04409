"""bench commands: `bench --site S persona-threading explain|backfill|preview`."""

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


@persona_threading.command("preview")
@click.option("--since", help="only mail received on or after this date (YYYY-MM-DD)")
@click.option("--until", help="only mail received on or before this date (YYYY-MM-DD)")
@click.option("--account", help="only mail received by this Email Account")
@click.option("--json", "as_json", is_flag=True, help="the report as one JSON object")
@click.option("--csv", "csv_path", help="write the disagreements here (default: ./persona-threading-preview-SITE.csv)")
@pass_context
def preview(context, since, until, account, as_json, csv_path):
	"""Replay the site's received mail through the engine; list where it would have put mail
	elsewhere than it is. Stores nothing and sends nothing."""
	import json
	import sys

	import frappe

	from .frappe_adapter import preview as previews

	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	try:
		total = previews.count(account, since, until)

		def progress(done: int) -> bool:
			if sys.stderr.isatty():
				sys.stderr.write(f"\rreplayed {done}/{total}")
			return True

		report, stats = previews.replay(account, since, until, progress)
		csv_path = csv_path or f"persona-threading-preview-{site}.csv"
		with open(csv_path, "w", newline="") as handle:
			report.write_csv(handle)
		if as_json:
			click.echo(json.dumps(report.as_dict() | {"replayed": stats["replayed"],
														"without_headers": stats["without_headers"]}, default=str))
		else:
			click.echo(f"replayed {stats['replayed']} mails ({stats['without_headers']} received before the app"
					   " kept headers: replayed from their record's fields)")
			for line in report.summary_lines():
				click.echo(line)
		click.echo(f"disagreements written to {csv_path}", err=True)
	finally:
		frappe.destroy()


commands = [persona_threading]
