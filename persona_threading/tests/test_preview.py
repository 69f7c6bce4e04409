"""Preview before switching on: a history stock Frappe routed, with planted stock mistakes,
replayed through the engine; the preview lists exactly those mistakes, with the right rule."""

from __future__ import annotations

import io
import uuid
from csv import reader

import frappe
from frappe.core.doctype.communication.email import make
from frappe.tests.utils import FrappeTestCase

from persona_threading.demo.client import new_mail
from persona_threading.engine.message import parse_message
from persona_threading.frappe_adapter import preview

from .helpers import agent, communication_for, issue_of, receive, support_inbox, unique_customer

# A history of its own each run (the test site keeps every earlier run's mail, and stock's
# subject match looks at every Issue): its own inbox and subjects.
RUN = uuid.uuid4().hex[:6]
INBOX, ADDRESS = f"_PT Preview {RUN}", f"preview-{RUN}@pt-test.example"
EMPLOYEES = ("pt-prev-ann@pt-test.example", "pt-prev-ben@pt-test.example")  # desk users, as stock knows them

ROUTING_TABLES = ("PT Conversation", "PT Conversation Message", "PT Conversation Follower", "PT Inbound Queue",
				  "PT Automatic Mail", "Issue", "Communication", "Email Queue")


def counts() -> dict:
	return {doctype: frappe.db.count(doctype) for doctype in ROUTING_TABLES}


class StockHistory:
	"""Mail received while the app is installed but switched off: stock routes it (and keeps
	making its mistakes), the app only keeps each mail's headers."""

	def __enter__(self):
		frappe.db.set_single_value("PT Settings", "enabled", 0)
		frappe.db.commit()
		return self

	def __exit__(self, *exc):
		frappe.db.set_single_value("PT Settings", "enabled", 1)
		frappe.db.commit()


def planted_history() -> dict:
	"""The stock history with its planted mistakes, built once per test run."""
	global _PLANTED
	if _PLANTED is None:
		for employee in EMPLOYEES:
			agent(employee)
		account = support_inbox(INBOX, ADDRESS)
		# Stock's subject match reads the account-level "Append To" (not the IMAP folder's):
		# set both, as many sites configured before folders existed, so stock guesses.
		account.db_set("append_to", "Issue")
		_PLANTED = _plant(account)
	return _PLANTED


_PLANTED = None


def _plant(account) -> dict:
	def mail(sender, subject, text, **headers):
		raw = new_mail(sender, ADDRESS, subject, text, **headers)
		receive(raw, account=account)
		return raw

	with StockHistory():
		customer, other = unique_customer(), unique_customer()
		# agreed: a new mail, and a reply by In-Reply-To
		opening = mail(customer, f"Invoice 4711 is wrong {RUN}", "The total is off by 10 EUR.")
		mail(customer, f"Re: Invoice 4711 is wrong {RUN}", "Any news?",
			 In_Reply_To=f"<{parse_message(opening).message_id}>")
		# an agent answers from the Issue (sent mail in the history)
		issue = issue_of(opening)
		sent = make(doctype="Issue", name=issue, subject=f"Re: Invoice 4711 is wrong {RUN}",
					content="<p>Corrected invoice attached.</p>", recipients=customer, sender=ADDRESS,
					send_email=True)["name"]
		agent_message_id = frappe.db.get_value("Communication", sent, "message_id")
		# stock mistake 1: a References-only reply with a new subject: stock opens a new Issue
		references_only = mail(customer, f"One more question {RUN}", "And the delivery date?",
							   References=f"<{agent_message_id}>")
		# stock mistake 2: a desk user's generic subject lands on a stranger's Issue
		mail(EMPLOYEES[0], f"Printer on floor two broken {RUN}", "No toner, it seems.")
		strangers = mail(EMPLOYEES[1], f"Printer on floor two broken {RUN}", "Paper jam on my side.")
		# stock mistake 3: an out-of-office that threads nowhere opens an Issue
		out_of_office = mail(other, f"Automatic reply: Your order {RUN}", "I am away until Monday.",
							 Auto_Submitted="auto-replied")
	frappe.db.commit()
	return {"references_only": references_only, "strangers": strangers, "out_of_office": out_of_office,
			"issue": issue}


class TestPreview(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.planted = planted_history()

	def expect(self, key):
		return communication_for(parse_message(self.planted[key]).message_id)

	def test_the_planted_stock_mistakes_are_exactly_the_disagreements(self):
		# stock really made them
		self.assertNotEqual(self.expect("references_only").reference_name, self.planted["issue"])
		first_printer = frappe.db.get_value("Issue", {"raised_by": EMPLOYEES[0], "subject": f"Printer on floor two broken {RUN}"})
		self.assertEqual(self.expect("strangers").reference_name, first_printer)
		self.assertTrue(self.expect("out_of_office").reference_name)

		before = counts()
		report, stats = preview.replay(account=INBOX)
		self.assertEqual(counts(), before, "the preview must not write routing records, tickets or mail")

		found = {(d.ref, d.outcome, d.rule) for d in report.disagreements}
		self.assertEqual(found, {
			(self.expect("references_only").name, "existing_instead_of_new", "references"),
			(self.expect("strangers").name, "new_instead_of_existing", "new"),
			(self.expect("out_of_office").name, "ignored", "auto_reply"),
		})
		by_ref = {d.ref: d for d in report.disagreements}
		self.assertEqual(by_ref[self.expect("references_only").name].engine_ticket, self.planted["issue"])
		self.assertIn(f"<{frappe.db.get_value('Communication', {'reference_name': self.planted['issue'], 'sent_or_received': 'Sent'}, 'message_id')}>",
					  by_ref[self.expect("references_only").name].explanation)
		self.assertEqual(stats["without_headers"], 0)
		self.assertEqual(report.outcomes["same"], 3)  # opening, its reply, the first printer mail

	def test_the_background_job_stores_the_report_and_a_csv(self):
		doc = frappe.get_doc({"doctype": "PT Preview", "email_account": INBOX}).insert()
		doc.start()
		self.assertEqual(doc.status, "Queued")
		self.assertEqual(doc.total, 7)  # 6 received, 1 sent
		before = counts()
		preview.run(doc.name)  # what the worker runs
		self.assertEqual(counts(), before)
		doc.reload()
		self.assertEqual((doc.status, doc.processed, doc.disagreement_count), ("Done", 7, 3))
		self.assertEqual({row.outcome for row in doc.disagreements},
						 {"existing_instead_of_new", "new_instead_of_existing", "ignored"})
		csv = frappe.get_doc("File", {"attached_to_doctype": "PT Preview", "attached_to_name": doc.name})
		rows = list(reader(io.StringIO(csv.get_content())))
		self.assertEqual(rows[0][:3], ["ref", "message_id", "date"])
		self.assertEqual(sorted(row[5] for row in rows[1:]),
						 ["existing_instead_of_new", "ignored", "new_instead_of_existing"])

	def test_a_date_range_limits_what_is_replayed(self):
		from frappe.utils import add_days, getdate

		today = getdate()
		self.assertEqual(preview.count(INBOX, until=add_days(today, -1)), 0)
		self.assertEqual(preview.count(INBOX, since=today, until=today), 7)
		report, stats = preview.replay(INBOX, since=add_days(today, 1))
		self.assertEqual((stats["replayed"], report.compared), (0, 0))

	def test_a_cancelled_preview_stops_between_batches(self):
		doc = frappe.get_doc({"doctype": "PT Preview", "email_account": INBOX}).insert()
		doc.start()
		doc.cancel_run()
		preview.run(doc.name)
		self.assertEqual(frappe.db.get_value("PT Preview", doc.name, "status"), "Cancelled")

	def test_only_a_system_manager_may_run_a_preview(self):
		doc = frappe.get_doc({"doctype": "PT Preview", "email_account": INBOX}).insert()
		frappe.db.commit()
		frappe.set_user(EMPLOYEES[0])
		try:
			self.assertRaises(frappe.PermissionError, preview.start, doc)
		finally:
			frappe.set_user("Administrator")

	def test_the_bench_command_prints_the_report_and_writes_the_csv(self):
		import json
		import os
		import subprocess
		import sys
		import tempfile

		with tempfile.TemporaryDirectory() as folder:
			csv_path = os.path.join(folder, "preview.csv")
			done = subprocess.run(
				[sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "--site", frappe.local.site,
				 "persona-threading", "preview", "--account", INBOX, "--json", "--csv", csv_path],
				cwd=os.path.abspath(frappe.local.sites_path), capture_output=True, text=True, timeout=300)
			self.assertEqual(done.returncode, 0, done.stderr[-2000:])
			report = json.loads(done.stdout.strip().splitlines()[-1])
			self.assertEqual((report["replayed"], report["disagree"]), (7, 3))
			self.assertEqual(report["outcomes"]["existing_instead_of_new"], 1)
			with open(csv_path, newline="") as handle:
				self.assertEqual(len(list(reader(handle))), 4)  # a header and three disagreements
