"""The generated history (Issues, their mails, Contacts; on the app site the app's routing
records of them, as its backfill makes them) and the mails the benchmark receives."""

from __future__ import annotations

import datetime as dt
import json
import random

from . import ACCOUNT, AGENT, HISTORY_PREFIX, KINDS, SUPPORT

TOPICS = ("printer jams on floor 3", "cannot log in to the portal", "invoice shows the wrong VAT",
          "delivery arrived damaged", "password reset mail never came", "export to CSV is empty",
          "order stuck in processing", "refund not received")
COMMUNICATIONS_PER_ISSUE = 3
HISTORY_DAYS = 365
CLOSED_AFTER_DAYS = 30  # Issues opened longer ago than this are Closed, the others Replied


def history_time(i: int, now: dt.datetime) -> dt.datetime:
    """Issue ``i`` was opened at a time spread (deterministically) over the past year."""
    r = random.Random(i * 7919 + 1)
    return now - dt.timedelta(days=1) - dt.timedelta(seconds=r.randrange(HISTORY_DAYS * 86400))


def is_closed(opened: dt.datetime, now: dt.datetime) -> bool:
    """Whether an Issue opened at ``opened`` was generated Closed (else Replied)."""
    return (now - opened).days > CLOSED_AFTER_DAYS


def issue_name(i: int) -> str:
    return f"{HISTORY_PREFIX}ISS-{i:07d}"


def customer(i: int) -> str:
    return f"customer{i // 2:06d}@customers.example"  # two Issues per customer


def subject(i: int) -> str:
    return f"Order {100000 + i}: {TOPICS[i % len(TOPICS)]}"


def ids(i: int) -> tuple[str, str, str]:
    """Message-IDs (as Frappe stores them: no angle brackets) of Issue i's three mails."""
    return (f"ptb-{i}-c1@customers.example", f"ptb-{i}-a@pt-bench.example", f"ptb-{i}-c2@customers.example")


def most_mails(size: int, count: int, avoid: set[int]) -> int:
    """How many of ``count`` mails (the kinds in turn) a history of ``size`` Issues can take,
    each reply to a distinct Issue: 1,000 Issues have about 80 under way (the last
    CLOSED_AFTER_DAYS of a year), fewer than 200 mails' replies ask for."""
    now = dt.datetime.now(dt.timezone.utc)
    closed = [is_closed(history_time(i, now), now) for i in range(size) if i not in avoid]
    room = {False: closed.count(False), True: closed.count(True)}
    for n in range(count):
        kind = KINDS[n % len(KINDS)]
        if kind != "new":
            room[kind == "closed"] -= 1
            if room[kind == "closed"] < 0:
                return n
    return count


def build_mails(size: int, count: int, avoid: set[int], seed: int) -> list[dict]:
    """``count`` mails, the kinds in turn; replies go to distinct history Issues < size: those of
    the last CLOSED_AFTER_DAYS (still under way), a "closed" reply to an older, Closed one."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.timezone.utc)
    under_way = [i for i in range(size) if i not in avoid and not is_closed(history_time(i, now), now)]
    pools = {False: rng.sample(under_way, len(under_way)),
             True: [i for i in rng.sample(range(size), min(size, count + len(avoid) + 8)) if i not in avoid
                    and is_closed(history_time(i, now), now)]}
    mails = []
    for n in range(count):
        kind = KINDS[n % len(KINDS)]
        mid = f"ptb-in-{seed}-{n}@mail.example"
        date = (now - dt.timedelta(minutes=count - n)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        if kind == "new":
            target = None
            sender, subj, extra = f"new-{seed}-{n}@newcustomers.example", f"Cannot print invoices (case {seed}-{n})", ""
            body = "Hello,\n\nsince this morning no invoice prints. Can you help?\n\nRegards\n"
        else:
            pool = pools[kind == "closed"]
            if not pool:
                raise ValueError(f"{size:,} history Issues have too few {'closed' if kind == 'closed' else 'open'} "
                                 f"ones for {count} mails: lower PT_BENCH_MAILS")
            target = pool.pop()
            c1, agent_reply, _ = ids(target)
            sender, subj = customer(target), f"Re: {subject(target)}"
            in_reply_to = f"In-Reply-To: <{agent_reply}>\nReferences: <{c1}> <{agent_reply}>\n"
            extra = {"in-reply-to": in_reply_to, "closed": in_reply_to,
                     "references": f"References: <{c1}> <{agent_reply}>\n", "subject": ""}[kind]
            body = ("Thanks, but it happens again.\n\nOn Mon, Support <support@pt-bench.example> wrote:\n"
                    "> We have looked into it.\n")
        raw = (f"From: {sender.split('@')[0].title()} <{sender}>\nTo: PT Bench Support <{SUPPORT}>\n"
               f"Subject: {subj}\nDate: {date}\nMessage-ID: <{mid}>\n{extra}MIME-Version: 1.0\n"
               f"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n{body}")
        mails.append({"kind": kind, "target": target, "message_id": mid, "raw": raw})
    return mails


def insert_history(lo: int, hi: int, now: dt.datetime, company: str, app: bool, conversations: int) -> int:
    """Issues [lo, hi) with their Communications and Contacts; with ``app`` also the
    conversations (numbered on from ``conversations``), message rows and followers the
    app's backfill makes. Returns the last conversation number used."""
    common = ("creation", "modified", "owner", "modified_by", "docstatus", "idx")

    def meta(created):
        return (created, created, "Administrator", "Administrator", 0, 0)

    issues, comms, links, contacts, contact_emails = [], [], [], [], []
    convs, messages, followers = [], [], []
    if app:
        from persona_threading.engine import decision as act
        from persona_threading.engine.decision import Decision
        try:
            from persona_threading.engine.carriers import ALPHABET, KEY_LENGTH
        except ImportError:
            ALPHABET, KEY_LENGTH = "abcdefghijkmnopqrstuvwxyz23456789", 12
    for i in range(lo, hi):
        t0 = history_time(i, now)
        t1, t2 = t0 + dt.timedelta(hours=2), t0 + dt.timedelta(days=1)
        cust, subj = customer(i), subject(i)
        contact = f"{HISTORY_PREFIX}CON-{i // 2:06d}"
        issue = issue_name(i)
        closed = is_closed(t0, now)
        if i % 2 == 0:  # the customer's first Issue brings the Contact
            contacts.append(meta(t0) + (contact, f"Customer {i // 2}", cust, "Passive"))
            contact_emails.append(meta(t0)[:5] + (1, f"{HISTORY_PREFIX}CE-{i // 2:06d}", contact, "Contact",
                                                  "email_ids", cust, 1))
        issues.append(meta(t0) + (issue, "ISS-.YYYY.-", subj, "Closed" if closed else "Replied", cust,
                                  cust.split("@")[0].title(), t0.date(), t0.time().replace(microsecond=0),
                                  company, f"<p>{TOPICS[i % len(TOPICS)].capitalize()}. Please help.</p>",
                                  t1, t2 if closed else None))
        mids = ids(i)
        rows = (
            (t0, "Received", cust, SUPPORT, subj, "<p>Please help, it fails every time.</p>", "Linked", None),
            (t1, "Sent", AGENT, cust, f"Re: {subj}", "<p>We are looking into it.</p>", "Linked", None),
            (t2, "Received", cust, SUPPORT, f"Re: {subj}", "<p>Thanks, that fixed it.</p>", "Linked",
             f"{HISTORY_PREFIX}COM-{i:07d}-1"),
        )
        for k, (when, direction, sender, recipients, s, content, status, in_reply_to) in enumerate(rows):
            name = f"{HISTORY_PREFIX}COM-{i:07d}-{k}"
            comms.append(meta(when) + (name, "Communication", "Email", direction, s, content, sender,
                                       sender.split("@")[0].title(), recipients, status, "Open",
                                       "Sent" if direction == "Sent" else None, "Issue", issue,
                                       "Administrator", ACCOUNT, mids[k], in_reply_to, when, 1, "Administrator"))
            links.append(meta(when)[:5] + (1, f"{HISTORY_PREFIX}CL-{i:07d}-{k}", name, "Communication",
                                           "timeline_links", "Contact", contact, f"Customer {i // 2}"))
        if app:
            conversations += 1
            conv = f"PTC-{conversations:05d}"
            key_rng = random.Random(i)
            key = "".join(key_rng.choice(ALPHABET) for _ in range(KEY_LENGTH))
            convs.append(meta(t0) + (conv, subj[:140], "Issue", issue, None, None, None, key, None))
            for k, (when, direction, sender, *_rest) in enumerate(rows):
                outbound = direction == "Sent"
                decision = Decision(mids[k], act.OUTBOUND if outbound else act.THREADED, "backfill",
                                    "imported from an existing Communication", conversation=conv)
                messages.append(meta(when) + (
                    f"{HISTORY_PREFIX.lower()}{i:07d}{k}", conv, f"{HISTORY_PREFIX}COM-{i:07d}-{k}", mids[k],
                    "Outbound" if outbound else "Inbound", "Public", sender, decision.action, decision.rule,
                    decision.evidence, json.dumps(decision.as_dict())))
            followers.append(meta(t0) + (f"{HISTORY_PREFIX.lower()}f{i:07d}", conv, cust, "Requester", 1,
                                         "Contact", contact))
    child = common[:5] + ("idx", "name", "parent", "parenttype", "parentfield")
    bulk("tabContact", common + ("name", "first_name", "email_id", "status"), contacts)
    bulk("tabContact Email", child + ("email_id", "is_primary"), contact_emails)
    bulk("tabIssue", common + ("name", "naming_series", "subject", "status", "raised_by", "customer_name",
                                     "opening_date", "opening_time", "company", "description",
                                     "first_responded_on", "resolution_date"), issues)
    bulk("tabCommunication", common + (
        "name", "communication_type", "communication_medium", "sent_or_received", "subject", "content",
        "sender", "sender_full_name", "recipients", "status", "email_status", "delivery_status",
        "reference_doctype", "reference_name", "reference_owner", "email_account", "message_id",
        "in_reply_to", "communication_date", "seen", "user"), comms)
    bulk("tabCommunication Link", child + ("link_doctype", "link_name", "link_title"), links)
    if app:
        bulk("tabPT Conversation", common + ("name", "subject", "reference_doctype", "reference_name",
                                                   "project", "email_account", "thread_root", "key",
                                                   "opened_by"), convs)
        bulk("tabPT Conversation Message", common + (
            "name", "conversation", "communication", "message_id", "direction", "visibility", "sender",
            "action", "rule", "evidence", "decision"), messages)
        bulk("tabPT Conversation Follower", common + (
            "name", "conversation", "email", "role", "active", "follower_doctype", "follower_name"), followers)
    return conversations


def bulk(table: str, columns: tuple, rows: list, chunk: int = 2000):
    import frappe

    if not rows:
        return
    existing = {c for (c,) in frappe.db.sql(
        "select column_name from information_schema.columns where table_schema = database() and table_name = %s",
        (table,))}
    keep = [n for n, c in enumerate(columns) if c in existing]  # a column this version lacks is left out
    cols = ", ".join(f"`{columns[n]}`" for n in keep)
    one = "(" + ", ".join(["%s"] * len(keep)) + ")"
    for lo in range(0, len(rows), chunk):
        part = rows[lo:lo + chunk]
        frappe.db.sql(f"insert into `{table}` ({cols}) values " + ", ".join([one] * len(part)),
                      [row[n] for row in part for n in keep])

