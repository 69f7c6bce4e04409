"""Either install order, for real (issue 23): the app installed before Frappe Helpdesk, and after.

Frappe 15 uses the Email Account class of the app installed last, and Helpdesk overrides it
too. The HD Ticket suite can only reorder a site's installed apps in place; this driver runs
the real ``bench`` commands on the Helpdesk site (scripts/run-frappe-tests.sh), each order
checked by a process of its own, which reads the hooks and classes Frappe's cache hands every
later process (a worker pulling mail):

1. before: ``bench uninstall-app helpdesk`` (the Assignment Rules Helpdesk made for its teams
   outlive it, as Frappe keeps them: dropped, so the site is one that never had Helpdesk),
   then ``bench install-app helpdesk`` with the app installed; ``check before``;
2. after: ``bench uninstall-app persona_threading``, ``bench install-app persona_threading``;
   ``check after``. The site is left as it was built: the app installed after Helpdesk.

Each check prints ``PASS …`` or ``FAIL …``; the driver ends with ``RAN <n> tests``.

	python -m persona_threading.tests.install_order SITE          (in the bench's sites folder)
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import frappe

from . import adoption
from .adoption import Checks, step

HELPDESK_CLASS = "helpdesk.overrides.email_account.CustomEmailAccount"
MODULE = "persona_threading.tests.install_order"  # run with -m: __name__ is "__main__"


@step
def forget_helpdesk() -> None:
	"""After Helpdesk's uninstall: its teams' Assignment Rules (a core DocType) are left behind."""
	for rule in frappe.get_all("Assignment Rule", {"document_type": "HD Ticket"}, pluck="name"):
		frappe.delete_doc("Assignment Rule", rule, ignore_permissions=True, force=True)
	frappe.db.commit()


@step
def check(order: str) -> None:
	"""The app's class runs on top of Helpdesk's, and mail goes where it should, whichever came first."""
	from persona_threading.demo.client import new_mail
	from persona_threading.engine.message import parse_message
	from persona_threading.frappe_adapter import account_class

	from .helpers import receive, support_inbox
	from .helpers import INBOX_ADDRESS as ISSUE_ADDRESS
	from .test_helpdesk import hd_inbox, mail, stored, ticket_of

	checks = Checks(f"installed {order} Helpdesk")
	installed = [row.app_name for row in frappe.get_single("Installed Applications").installed_applications]
	first, then = ("persona_threading", "helpdesk") if order == "before" else ("helpdesk", "persona_threading")
	checks.check(f"{first} was installed before {then}", first in installed and then in installed
				 and installed.index(first) < installed.index(then), str(installed))
	checks.check("the app is last in the installed apps", frappe.get_installed_apps()[-1] == "persona_threading",
				 str(frappe.get_installed_apps()))
	account = hd_inbox()
	classes = [f"{c.__module__}.{c.__qualname__}" for c in type(frappe.get_doc("Email Account", account.name)).__mro__]
	checks.check("Email Account is the app's class, on top of Helpdesk's", classes[0] == account_class.HOOK
				 and HELPDESK_CLASS in classes, str(classes[:4]))
	state = account_class.status()
	checks.check("PT Settings names the app's class, built on Helpdesk's", state["ours"]
				 and state.get("built_on") == HELPDESK_CLASS, str(state))
	checks.check("HD Team has the routing fields", frappe.get_meta("HD Team").has_field("pt_inbound_prefix"))
	frappe.db.set_single_value("PT Settings", "enabled", 1)
	raw = mail()
	receive(raw, account=account)
	ticket = ticket_of(raw)
	checks.check("a new mail opens an HD Ticket routed by the app", bool(ticket) and bool(frappe.db.exists(
		"PT Conversation", {"reference_doctype": "HD Ticket", "reference_name": ticket})), str(ticket))
	generated = mail(X_Auto_Generated="hd-acknowledgement")
	receive(generated, account=account)
	checks.check("Helpdesk's class still skips X-Auto-Generated mail", not stored(generated))
	issue_mail = new_mail(f"c-{uuid.uuid4().hex[:8]}@pt-hd-customer.example", ISSUE_ADDRESS, "Issue mail", "Hello")
	receive(issue_mail, account=support_inbox())
	issue = frappe.db.get_value("Communication", {"message_id": parse_message(issue_mail).message_id},
								["reference_doctype", "reference_name"])
	checks.check("Issue mail is routed by the app too", bool(issue) and issue[0] == "Issue" and bool(
		frappe.db.exists("PT Conversation", {"reference_doctype": "Issue", "reference_name": issue[1]})), str(issue))
	checks.done()


STEPS = {"forget_helpdesk": forget_helpdesk, "check": check}


def run_orders(site: str) -> int:
	"""Both orders with the real bench commands; the number of failed checks or commands."""
	bench = os.path.dirname(os.getcwd())
	counts = {"PASS": 0, "FAIL": 0}

	def run(what: str, command: list[str], cwd: str) -> bool:
		done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
		lines = [line for line in done.stdout.splitlines() if line.startswith(("PASS ", "FAIL "))]
		for line in lines:
			print(line, flush=True)
			counts[line[:4]] += 1
		if done.returncode and not any(line.startswith("FAIL ") for line in lines):
			print((done.stdout + done.stderr)[-3000:])
			print(f"FAIL {what}: exit code {done.returncode}", flush=True)
			counts["FAIL"] += 1
		return done.returncode == 0

	bench_step = lambda what, *args: run(what, ["bench", "--site", site, *args], bench)  # noqa: E731
	own_step = lambda *args: run(" ".join(args), [sys.executable, "-m", MODULE, site, *args], os.getcwd())  # noqa: E731
	if (bench_step("bench uninstall-app helpdesk", "uninstall-app", "helpdesk", "--yes", "--no-backup", "--force")
			and own_step("forget_helpdesk") and bench_step("bench install-app helpdesk", "install-app", "helpdesk")):
		own_step("check", "before")
	if (bench_step("bench uninstall-app persona_threading", "uninstall-app", "persona_threading", "--yes",
				   "--no-backup", "--force")
			and bench_step("bench install-app persona_threading", "install-app", "persona_threading")):
		own_step("check", "after")
	print(f"install order: {counts['PASS']} passed, {counts['FAIL']} failed")
	print(f"RAN {counts['PASS'] + counts['FAIL']} tests")
	return counts["FAIL"]


def main(argv: list[str]) -> None:
	"""SITE: both orders; SITE STEP [ARG]: one step (the current folder is the bench's sites folder)."""
	if len(argv) == 1:
		raise SystemExit(1 if run_orders(argv[0]) else 0)
	adoption.main(argv, STEPS)


if __name__ == "__main__":
	main(sys.argv[1:])
