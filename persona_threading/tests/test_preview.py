"""Preview before switching on: a history stock Frappe routed, with planted stock mistakes,
replayed through the engine; the preview lists exactly those mistakes, with the right rule."""

from __future__ import annotations

import io
import uuid
from csv import reader
from email.utils import parseaddr

import frappe
from frappe.core.doctype.communication.email import make
from frappe.tests.utils import FrappeTestCase

from persona_threading.demo.client import new_mail
from persona_threading.engine.message import parse_message
from persona_threading.frappe_adapter import preview

from .helpers import INBOX_ADDRESS, agent, communication_for, issue_of, receive, support_inbox, unique_customer

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
		# Its history is planted: a later test's mail for an Issue must not go out (and be
		# counted) through this inbox, which stock picks as "an outgoing account for Issue".
		account.db_set("enable_outgoing", 0)
		frappe.local.outgoing_email_account = {}
		frappe.db.commit()
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


# -- a period the app itself routed: the replay reproduces its live decisions ----------------

LIVE_INBOX, LIVE_ADDRESS = f"_PT Live {RUN}", f"live-{RUN}@pt-test.example"
LIVE_AGENT, COLLEAGUE = "pt-prev-live-agent@pt-test.example", "pt-prev-colleague@pt-test.example"


def _deliver(raw: bytes, account) -> str:
	receive(raw, account=account)
	return communication_for(parse_message(raw).message_id)


def _answer(issue: str, customer: str, text: str) -> bytes:
	"""An agent's reply from the Issue, as it went out (stamped)."""
	make(doctype="Issue", name=issue, subject="Re: your request", content=f"<p>{text}</p>", recipients=customer,
		 sender=LIVE_ADDRESS, send_email=True)
	return frappe.get_last_doc("Email Queue", filters={"reference_name": issue,
													   "message": ["like", f"%{text}%"]}).message.encode()


def live_history() -> dict:
	"""Mail the app routed live on its own inbox: every way a mail threads or lands, a flood, a
	reply to a closed ticket (lifecycle) and a reply an agent moved afterwards."""
	global _LIVE
	if _LIVE is not None:
		return _LIVE
	from persona_threading.demo.client import customer_reply

	from .test_auto_replies import ADDRESS as ANSWERS, bounce_of
	from .test_forwards_and_lifecycle import forward

	for user in (LIVE_AGENT, COLLEAGUE):
		agent(user)
	account = support_inbox(LIVE_INBOX, LIVE_ADDRESS)
	account.db_set({"enable_auto_reply": 1, "auto_reply_message": ""})
	frappe.db.commit()
	account = frappe.get_doc("Email Account", LIVE_INBOX)
	mail = lambda sender, subject, text, **headers: new_mail(sender, LIVE_ADDRESS, subject, text, **headers)  # noqa: E731
	rules = {}

	def expect(raw, rule):
		rules[parse_message(raw).message_id] = rule
		return _deliver(raw, account)

	# with display names: "Ann <ann@…>" is what Frappe's XSS filter escaped in the kept headers
	ann, bea, cid, dan = (f"{name} Example <{unique_customer()}>" for name in ("Ann", "Bea", "Cid", "Dan"))
	first = expect(mail(ann, f"Scanner broken {RUN}", "It shows E42."), "new")
	agent_raw = _answer(first.reference_name, ann, f"Try a restart {RUN}")
	reply = lambda text, **kw: customer_reply(agent_raw, ann, text, quote=False, **kw)  # noqa: E731
	expect(reply("Still broken.", in_reply_to=False, references=False), "token")
	expect(reply("Restarted.", subject="Restart done", references=False), "in_reply_to")
	expect(reply("And now E43.", subject="New error", in_reply_to=False), "references")
	expect(reply("From Outlook.", subject="RE: other", in_reply_to=False, references=False, thread_index=True),
		   "thread_index")
	expect(reply("I am away.", subject=f"Automatic reply: scanner {RUN}", references=False,
				 headers={"Auto-Submitted": "auto-replied"}), "in_reply_to")
	expect(bounce_of(agent_raw, parseaddr(ann)[1]).replace(f"To: {ANSWERS}".encode(), f"To: {LIVE_ADDRESS}".encode(), 1), None)
	# a reply to the app's own automatic reply
	opened = expect(mail(bea, f"Login fails {RUN}", "Password reset does not arrive."), "new")
	auto_reply = frappe.get_last_doc("Email Queue", filters={"reference_name": opened.reference_name,
															 "message": ["like", "%Auto-Submitted: auto-replied%"]})
	expect(customer_reply(auto_reply.message.encode(), bea, "Here is more.", subject="More details", quote=False,
						  references=False), "in_reply_to")
	# an agent writes first, from an Issue opened at the desk
	eve = f"Eve Example <{unique_customer()}>"
	desk = frappe.get_doc({"doctype": "Issue", "subject": f"Your order {RUN}", "raised_by": parseaddr(eve)[1]}).insert(
		ignore_permissions=True).name
	first_word = _answer(desk, eve, f"Your parcel is late {RUN}")
	expect(customer_reply(first_word, eve, "Thanks for telling me.", quote=False, in_reply_to=False,
						  references=False), "token")
	# an agent forwards a colleague's mail
	expect(forward(LIVE_AGENT, COLLEAGUE).replace(INBOX_ADDRESS.encode(), LIVE_ADDRESS.encode()), "new")
	# a flood: ten open, the rest wait in the queue
	for i in range(12):
		expect(mail(f"flood-{RUN}@pt-customer.example", f"Order {i} {RUN}", "Where is it?"), None)
	# lifecycle: a reply to a closed ticket opens a new linked one
	closed = expect(mail(cid, f"Invoice copy {RUN}", "Please resend."), "new")
	frappe.db.set_value("Issue", closed.reference_name, "status", "Closed")
	frappe.db.commit()
	linked = expect(mail(cid, f"Re: Invoice copy {RUN}", "Again please.", In_Reply_To=f"<{closed.message_id}>"),
					"in_reply_to")
	# an agent moves a reply to another ticket after the app routed it
	dans = expect(mail(dan, f"Monitor flickers {RUN}", "Since Monday."), "new")
	moved = expect(mail(dan, f"Re: Monitor flickers {RUN}", "Still.", In_Reply_To=f"<{dans.message_id}>"),
				   "in_reply_to")
	frappe.db.set_value("Communication", moved.name, "reference_name", opened.reference_name)
	frappe.db.commit()
	_LIVE = {"rules": rules, "linked": linked.name, "moved": moved.name}
	return _LIVE


_LIVE = None


class TestPreviewOfWhatTheAppRouted(FrappeTestCase):
	def test_the_replay_reproduces_the_live_decisions_and_names_what_depends_on_time_or_later_edits(self):
		live = live_history()
		recorded = {mid: frappe.db.get_value("PT Conversation Message", {"message_id": mid}, "rule")
					for mid, rule in live["rules"].items() if rule}
		self.assertEqual(recorded, {mid: rule for mid, rule in live["rules"].items() if rule}, "the live routing")
		report, stats = preview.replay(account=LIVE_INBOX)
		# every mail received was compared (a bounce, a forward or a flood mail not compared would pass unseen)
		self.assertEqual((report.compared, report.outcomes["unmapped"], report.routed_live),
						 (len(live["rules"]), 0, len(live["rules"])), (report.as_dict(), stats))
		self.assertEqual([(d.ref, d.outcome, d.rule, d.explanation) for d in report.disagreements], [])
		self.assertEqual(report.explained, {"time_dependent": 1, "changed_later": 1})
		named = {c.ref: c.cause for c in report.named}
		self.assertIn("closed", named[live["linked"]])
		self.assertIn("moved after routing", named[live["moved"]])
		for rule in ("token", "in_reply_to", "references", "thread_index"):
			self.assertGreaterEqual(report.rules.get(rule, {}).get("compared", 0), 1, (rule, report.rules))
		self.assertEqual(stats["without_headers"], 0)
		self.assertNotIn("signature invalid", " ".join(c.explanation for c in report.named))


class TestKeptHeaders(FrappeTestCase):
	BLOCK = ('From: "Ann & Bob" <ann-{0}@pt-customer.example>\r\nTo: <{1}>\r\nSubject: a < b & c > d &amp; e\r\n'
			 'Message-ID: <kept-{0}@pt-customer.example>\r\nReferences: <x-{0}@y>\r\n'
			 'List-Unsubscribe: <https://pt-customer.example/u?a=1&b=2>\r\nDate: Mon, 16 Nov 2026 09:00:00 +0000')

	def test_the_header_block_is_stored_byte_for_byte(self):
		from persona_threading.history import header_block

		tag = uuid.uuid4().hex[:8]
		raw = (self.BLOCK.format(tag, INBOX_ADDRESS) + "\r\n\r\nHello\r\n").encode()
		receive(raw)
		stored = frappe.db.get_value("Communication", {"message_id": f"kept-{tag}@pt-customer.example"}, "pt_headers")
		self.assertEqual(stored, header_block(raw))
		self.assertEqual(stored.encode(), raw.split(b"\r\n\r\n")[0])

	def test_the_patch_repairs_rows_stored_escaped(self):
		from frappe.utils.html_utils import sanitize_html

		from persona_threading.patches.v0_4 import unescape_kept_headers

		tag = uuid.uuid4().hex[:8]
		raw = (self.BLOCK.format(tag, INBOX_ADDRESS).replace(" &amp; e", "") + "\r\n\r\nHello\r\n").encode()
		receive(raw)
		name = frappe.db.get_value("Communication", {"message_id": f"kept-{tag}@pt-customer.example"})
		original = frappe.db.get_value("Communication", name, "pt_headers")
		escaped = sanitize_html(original)  # what Frappe's XSS filter stored before
		self.assertIn("&lt;ann-", escaped)
		frappe.db.set_value("Communication", name, "pt_headers", escaped, update_modified=False)
		plain = frappe.db.get_value("Communication", {"pt_headers": ["like", "%<%"]}, "name")
		unescape_kept_headers.execute()
		# the filter turned CRLF into LF; everything else is as received again
		self.assertEqual(frappe.db.get_value("Communication", name, "pt_headers"), original.replace("\r\n", "\n"))
		if plain:
			self.assertIn("<", frappe.db.get_value("Communication", plain, "pt_headers"))
		# what it cannot give back (the docstring says so): an entity written in the mail itself
		self.assertEqual(unescape_kept_headers.unescaped(sanitize_html("From: <a@b>\r\nSubject: R&amp;D")),
						 "From: <a@b>\nSubject: R&D")
