"""Real and mutated mail through Frappe's real receive(), one mail per pull.

The promise checked for every mail, whatever its bytes: receive() raises nothing because of
the mail's content, the mail adds exactly one received Communication or one Unhandled Email
(a byte-identical repeat of an earlier mail adds nothing: it is the same mail fetched
twice), and nothing is left in the inbound journal. The slowest mail is reported.

Used by test_receive_fuzz (a few hundred mails in ``make test``) and by ``make fuzz``
(thousands, plus every unmutated corpus mail):

	bench --site SITE execute persona_threading.tests.receive_fuzz.main --kwargs '{"count": 5000}'
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import frappe

from persona_threading.engine.duplicates import find_original
from persona_threading.engine.message import parse_message
from persona_threading.frappe_adapter.lookup import FrappeLookup
from persona_threading.fuzz import Mutator, corpus_mails, pathological_table

from . import helpers

JOURNAL = "PT Inbound Journal"
_MESSAGE_ID = re.compile(rb"(?i)(?:^|(?<=\n)|(?<=\r))(message-id:\s*<?)")  # CR-only and folded too


@dataclass
class Failure:
	label: str
	problem: str
	raw: bytes = field(repr=False)


@dataclass
class ReceiveReport:
	mails: int = 0
	communications: int = 0
	unhandled: int = 0
	repeats: int = 0
	failures: list[Failure] = field(default_factory=list)
	slowest: tuple[float, str] = (0.0, "")
	seconds: float = 0.0

	def summary(self) -> str:
		lines = [f"{self.mails} mails through receive() in {self.seconds:.1f} s: {self.communications} stored as a "
                 f"Communication, {self.unhandled} as an Unhandled Email, {self.repeats} byte-identical repeats, "
                 f"{len(self.failures)} failures; slowest mail {self.slowest[0]:.2f} s ({self.slowest[1]})"]
		lines += [f"  FAILED {f.label}: {f.problem}" for f in self.failures[:20]]
		return "\n".join(lines)


def _counts(account: str) -> tuple[int, int]:
	received = frappe.db.count("Communication", {"email_account": account, "sent_or_received": "Received"})
	return received, frappe.db.count("Unhandled Email", {"email_account": account})


def _stored_before(raw: bytes) -> bool:
	"""This very mail is stored already (the engine's rule: the same Message-ID with the
	same content, or with the same sender and Date) and its Communication still exists:
	fetched again, it adds nothing."""
	message = parse_message(raw)
	if not (message.message_id and find_original(message, FrappeLookup().messages_by_ids([message.message_id]))):
		return False
	# ...and is still there: a record whose Communication was deleted takes the mail again
	return bool(frappe.db.get_value("PT Conversation Message", {"message_id": message.message_id,
																"communication": ["is", "set"]})
				or frappe.db.exists("Communication", {"message_id": message.message_id}))


FUZZ_INBOX, FUZZ_ADDRESS = "_PT Fuzz", "fuzz@pt-test.example"


def fresh_account():
	"""The fuzz's own inbox, with what an earlier run stored through it removed, so every
	run meets its mails for the first time (a seed means the same mails)."""
	account = helpers.support_inbox(FUZZ_INBOX, FUZZ_ADDRESS)
	communications = frappe.get_all("Communication", {"email_account": FUZZ_INBOX}, pluck="name")
	for chunk in range(0, len(communications), 500):
		names = communications[chunk:chunk + 500]
		for doctype, column in (("PT Conversation Message", "communication"), ("PT Inbound Queue", "communication"),
								("Communication", "name")):
			frappe.db.delete(doctype, {column: ["in", names]})
	for doctype in ("Unhandled Email", JOURNAL):
		frappe.db.delete(doctype, {"email_account": FUZZ_INBOX})
	frappe.db.commit()
	return account


def push(mails: Iterable[tuple[str, bytes]], account=None) -> ReceiveReport:
	"""Each mail through its own receive() (as its own pull), checked one by one."""
	account = account or fresh_account()
	report, seen = ReceiveReport(), set()
	started = time.perf_counter()
	for label, raw in mails:
		report.mails += 1
		digest = hashlib.sha256(raw).digest()
		repeat = digest in seen or _stored_before(raw)
		seen.add(digest)
		before = _counts(account.name)
		began = time.perf_counter()
		try:
			helpers.receive(raw, account=account)
			problem = None
		except Exception as exc:
			problem = "receive() raised: " + _last_error_line(exc)
		took = time.perf_counter() - began
		frappe.db.rollback()  # a fresh snapshot: what the pull committed, nothing else
		if took > report.slowest[0]:
			report.slowest = (took, label)
		stored, unhandled = (now - then for now, then in zip(_counts(account.name), before))
		report.communications += stored
		report.unhandled += unhandled
		report.repeats += repeat
		expected = 0 if repeat else 1
		if problem is None and stored + unhandled != expected:
			problem = f"added {stored} Communications and {unhandled} Unhandled Emails (expected {expected} in all)"
		if problem is None and frappe.db.count(JOURNAL, {"email_account": account.name}):
			problem = "left in the inbound journal"
		if problem:
			report.failures.append(Failure(label, problem, raw))
			frappe.db.delete(JOURNAL, {"email_account": account.name})  # the next mail starts clean
			frappe.db.commit()
	report.seconds = time.perf_counter() - started
	return report


def _last_error_line(exc: Exception) -> str:
	"""Stock's receive() raises the JSON list of the tracebacks it logged: their last lines."""
	text = str(exc)
	try:
		tracebacks = json.loads(text)
	except ValueError:
		tracebacks = [traceback.format_exc()]
	lines = [next((line for line in reversed(t.strip().splitlines()) if line.strip()), "") for t in tracebacks]
	return " | ".join(lines)[:500]


def mutated(count: int, seed: int = 0, max_bytes: int = 1 << 20) -> Iterator[tuple[str, bytes]]:
	"""``count`` mutated corpus mails (same seed, same mails)."""
	mutator = Mutator(corpus_mails(), seed=seed, max_bytes=max_bytes)
	for number in range(count):
		# Each its own Message-ID: many mutations keep sender and Date, and such a mail is
		# (rightly) the same mail again, which would test nothing.
		raw = _MESSAGE_ID.sub(lambda found: found.group(1) + b"fuzz%d." % number, mutator.next(), count=1)
		yield f"mutated #{number} (seed {seed})", raw


def unmutated() -> Iterator[tuple[str, bytes]]:
	"""Every mail of ../shared/corpora as it is."""
	for number, raw in enumerate(corpus_mails()):
		yield f"corpus mail #{number}", raw


def main(count: int = 5000, seed: int = 0, corpus: bool = True) -> None:
	"""``make fuzz``'s Frappe part: mutated mails, then every corpus mail; fails loudly."""
	frappe.flags.in_test = True
	reports = [("mutated", push(mutated(int(count), int(seed))))]
	if corpus:
		reports.append(("unmutated corpus", push(unmutated())))
	failed = False
	for title, report in reports:
		print(f"== {title}: {report.summary()}")
		failed = failed or bool(report.failures)
	if failed:
		raise SystemExit(1)


def pathological() -> float:
	"""``make bench``: each hostile mail at three sizes through the real receive() (its time,
	and that it was stored); returns the worst time for a mail of up to 1 MB."""
	frappe.flags.in_test = True
	account = fresh_account()

	def time_one(raw: bytes) -> tuple[float, str]:
		report = push([("pathological", raw)], account)
		return report.slowest[0], "!" if report.failures else ""

	worst = pathological_table("pathological mails through Frappe's receive() (one pull each; target < 2 s up to 1 MB):",
							   time_one)
	print(f"    worst: {worst:.2f} s ({'MET' if worst < 2 else 'NOT MET'}: < 2 s); '!' marks a mail not stored")
	return worst
