"""`make bench`, third part: the preview (PT Preview) over 10,000 Communications.

Run with the bench's Python from the bench's sites folder (benchmarks/stock_vs_app.sh does):
    <bench>/env/bin/python benchmarks/preview_history.py SITE [--mails 10000]

It writes a history of its own on SITE (an Email Account "_PT Preview Bench", Issues and
their Communications, bulk-inserted, with the header blocks the app keeps): conversations of
a customer's mail, an agent's reply and the customer's answer by In-Reply-To, References
only, or a new subject; every tenth References-only answer is planted on a new Issue, as
stock Frappe would have put it. Then it replays that history with the preview (progress on
stderr, as the job publishes it), checks the routing tables did not change, and prints the
time, the rate and what the preview found. No timed assertion: the figures are the result.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta

ACCOUNT, ADDRESS = "_PT Preview Bench", "preview-bench@bench.example"
TABLES = ("PT Conversation", "PT Conversation Message", "PT Conversation Follower", "PT Inbound Queue",
          "Issue", "Communication", "Email Queue")


def headers(sender: str, to: str, subject: str, message_id: str, in_reply_to: str | None = None,
            references: str | None = None) -> str:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Message-ID: <{message_id}>"]
    lines += [f"In-Reply-To: <{in_reply_to}>"] if in_reply_to else []
    lines += [f"References: <{references}>"] if references else []
    return "\r\n".join(lines)


def reset(frappe) -> None:
    Comm, Issue = frappe.qb.DocType("Communication"), frappe.qb.DocType("Issue")
    frappe.qb.from_(Comm).delete().where(Comm.email_account == ACCOUNT).run()
    frappe.qb.from_(Issue).delete().where(Issue.name.like("PVB-%")).run()
    if not frappe.db.exists("Email Account", ACCOUNT):
        frappe.get_doc({"doctype": "Email Account", "email_account_name": ACCOUNT, "email_id": ADDRESS,
                        "enable_incoming": 0, "enable_outgoing": 0, "append_to": "Issue"}).insert(ignore_permissions=True)
    frappe.db.commit()


def generate(frappe, mails: int) -> dict:
    """``mails`` Communications in conversations of three; returns how many were planted."""
    start = datetime.now() - timedelta(days=30)
    issues, comms, planted = [], [], 0
    conversations = mails // 3
    for i in range(conversations):
        at = start + timedelta(seconds=60 * i)
        customer, issue = f"customer{i}@bench-customer.example", f"PVB-{i:06d}"
        first, answer, follow = f"pvb-{i}-1@bench-customer.example", f"pvb-{i}-2@bench.example", f"pvb-{i}-3@bench-customer.example"
        subject = f"Order {i} arrived broken"
        kind = i % 3  # 0: In-Reply-To, 1: References only, 2: a new subject (its own Issue)
        follow_issue = issue
        if kind == 1 and i % 10 == 1:
            follow_issue, planted = f"PVB-{i:06d}-S", planted + 1  # stock opened a new Issue for it
        if kind == 2:
            follow_issue = f"PVB-{i:06d}-N"
        for name, subj in {(issue, subject), (follow_issue, f"Another question {i}")}:
            issues.append((name, at, at, "Administrator", "Administrator", subj, customer, "Open", "Medium"))
        rows = (
            (f"pvb-c{i}-1", "Received", customer, ADDRESS, subject, first, None, None, issue, at),
            (f"pvb-c{i}-2", "Sent", ADDRESS, customer, f"Re: {subject}", answer, None, None, issue,
             at + timedelta(seconds=10)),
            (f"pvb-c{i}-3", "Received", customer, ADDRESS,
             f"Re: {subject}" if kind == 0 else f"Another question {i}", follow,
             answer if kind == 0 else None, answer if kind == 1 else None, follow_issue, at + timedelta(seconds=20)),
        )
        for name, direction, sender, to, subj, message_id, in_reply_to, references, ticket, when in rows:
            comms.append((name, when, when, "Administrator", "Administrator", "Communication", "Email", direction,
                          sender, to, subj, f"<p>{subj}: details {i}</p>", message_id, "Issue", ticket, ACCOUNT, when,
                          headers(sender, to, subj, message_id, in_reply_to, references)
                          if direction == "Received" else None))
    frappe.db.bulk_insert("Issue", ("name", "creation", "modified", "owner", "modified_by", "subject", "raised_by",
                                    "status", "priority"), issues, ignore_duplicates=True)
    frappe.db.bulk_insert("Communication", ("name", "creation", "modified", "owner", "modified_by",
                                            "communication_type", "communication_medium", "sent_or_received",
                                            "sender", "recipients", "subject", "content", "message_id",
                                            "reference_doctype", "reference_name", "email_account",
                                            "communication_date", "pt_headers"), comms)
    frappe.db.commit()
    return {"communications": len(comms), "planted": planted}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site")
    parser.add_argument("--mails", type=int, default=10_000)
    args = parser.parse_args(argv)

    import frappe

    frappe.init(site=args.site, sites_path=".")
    frappe.connect()
    try:
        from persona_threading.frappe_adapter import preview

        reset(frappe)
        made = generate(frappe, args.mails)
        total = preview.count(ACCOUNT)
        before = {t: frappe.db.count(t) for t in TABLES}
        began = time.perf_counter()

        def progress(done: int) -> bool:
            elapsed = time.perf_counter() - began
            print(f"  preview: replayed {done}/{total} ({done / elapsed:.0f} mails/s)", file=sys.stderr, flush=True)
            return True

        report, stats = preview.replay(ACCOUNT, on_batch=progress)
        seconds = time.perf_counter() - began
        unchanged = before == {t: frappe.db.count(t) for t in TABLES}
        found = report.outcomes.get("existing_instead_of_new", 0)
        print(f"preview of {stats['replayed']:,} Communications ({made['communications']:,} generated): "
              f"{seconds:.1f} s, {stats['replayed'] / seconds:.0f} mails/s on this machine; "
              f"{report.compared:,} compared, {len(report.disagreements)} disagreements "
              f"({found} References-only replies stock put on a new Issue; {made['planted']} planted); "
              f"routing tables {'unchanged' if unchanged else 'CHANGED'}")
        reset(frappe)
        return 0 if unchanged else 1
    finally:
        frappe.destroy()


if __name__ == "__main__":
    sys.exit(main())
