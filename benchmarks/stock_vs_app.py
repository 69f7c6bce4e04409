"""`make bench`, second part: per-mail ``EmailAccount.receive()`` cost with the app beside
stock Frappe, on two sites of the project's bench (see benchmarks/stock_vs_app.sh).

Run with the bench's Python from ``<bench>/sites`` (the shell script does):

    stock_vs_app.py setup SITE                  once per site: inbox, agent, base state
    stock_vs_app.py run APP_SITE STOCK_SITE     reset, history, mails, timings, EXPLAIN, results
    stock_vs_app.py worker SITE app|stock       (internal) one site's process, JSON lines on stdio

One process per site keeps its site open; the driver feeds both the same mail in turn
(alternating which goes first), so both sides see the same machine load. Each mail is
received as a pull job receives it: a fresh ``frappe.init``/``connect`` (untimed), then the
timed ``EmailAccount.receive()`` with only the mail server patched (as tests/helpers.receive).

The app's own work (engine + lookups + records) is the exclusive wall time inside its entry
points, wrapped with timers in the app site's process: the engine (parse, route, flood guard,
lifecycle), every FrappeLookup method, and its record writes (store, journal, doc-event hooks).
Stock's work that the app calls into (super().process(), the Issue and Communication inserts)
is not counted as the app's. Every query FrappeLookup issues is captured and EXPLAINed.

Targets (ratios, not timed tests; the exit code is 0 either way): app cost at 100k <= 1.1x its
cost at 1k; at 100k the app at least 5x faster than stock; the app's own work < 10% of the
per-mail cost.

Only stable app APIs are imported (FrappeLookup, the adapter modules' public functions,
engine.decision); whatever is missing in the linked app version is simply not wrapped.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import gc
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]

ACCOUNT = "_PT Bench Support"
SUPPORT = "support@pt-bench.example"
AGENT = "agent@pt-bench.example"
KINDS = ("new", "in-reply-to", "references", "subject")
KIND_TITLES = {"new": "new mail", "in-reply-to": "In-Reply-To reply", "references": "References-only reply",
               "subject": "subject-only reply"}
TOPICS = ("printer jams on floor 3", "cannot log in to the portal", "invoice shows the wrong VAT",
          "delivery arrived damaged", "password reset mail never came", "export to CSV is empty",
          "order stuck in processing", "refund not received")
COMMUNICATIONS_PER_ISSUE = 3
HISTORY_DAYS = 365
TARGET_GROWTH, TARGET_SPEEDUP, TARGET_SHARE = 1.1, 5.0, 0.10

# Tables the benchmark writes (history and what receive() adds); reset deletes its rows.
TRANSACTIONAL = ("Issue", "Communication", "Communication Link", "Contact", "Contact Email", "Contact Phone",
                 "Dynamic Link", "Comment", "Version", "ToDo", "Notification Log", "Email Queue",
                 "Email Queue Recipient", "Error Log", "Unhandled Email", "File", "Activity Log",
                 "Deleted Document", "Scheduled Job Log")
PT_CONFIG = ("PT Inbox Scope", "PT Snippet", "PT Settings")  # the app's configuration: kept
HISTORY_PREFIX = "PTB-"
# Tables that grow with history: reads of them inside the app's record writes are EXPLAINed too.
HISTORY_TABLES = {f"tab{d}" for d in ("Issue", "Communication", "Communication Link", "Contact", "Contact Email",
                                     "Dynamic Link", "Version", "Comment", "ToDo", "User", "Has Role", "Customer")}


# ============================================================================ history rows


def history_time(i: int, now: dt.datetime) -> dt.datetime:
    """Issue ``i`` was opened at a time spread (deterministically) over the past year."""
    r = random.Random(i * 7919 + 1)
    return now - dt.timedelta(days=1) - dt.timedelta(seconds=r.randrange(HISTORY_DAYS * 86400))


def customer(i: int) -> str:
    return f"customer{i // 2:06d}@customers.example"  # two Issues per customer


def subject(i: int) -> str:
    return f"Order {100000 + i}: {TOPICS[i % len(TOPICS)]}"


def ids(i: int) -> tuple[str, str, str]:
    """Message-IDs (as Frappe stores them: no angle brackets) of Issue i's three mails."""
    return (f"ptb-{i}-c1@customers.example", f"ptb-{i}-a@pt-bench.example", f"ptb-{i}-c2@customers.example")


# ============================================================================ inbound mails


def build_mails(size: int, count: int, avoid: set[int], seed: int) -> list[dict]:
    """``count`` mails, the four kinds in turn; replies go to distinct history Issues < size."""
    rng = random.Random(seed)
    pool = [i for i in rng.sample(range(size), min(size, count + len(avoid) + 8)) if i not in avoid]
    now = dt.datetime.now(dt.timezone.utc)
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
            target = pool.pop()
            c1, agent_reply, _ = ids(target)
            sender, subj = customer(target), f"Re: {subject(target)}"
            extra = {"in-reply-to": f"In-Reply-To: <{agent_reply}>\nReferences: <{c1}> <{agent_reply}>\n",
                     "references": f"References: <{c1}> <{agent_reply}>\n", "subject": ""}[kind]
            body = ("Thanks, but it happens again.\n\nOn Mon, Support <support@pt-bench.example> wrote:\n"
                    "> We have looked into it.\n")
        raw = (f"From: {sender.split('@')[0].title()} <{sender}>\nTo: PT Bench Support <{SUPPORT}>\n"
               f"Subject: {subj}\nDate: {date}\nMessage-ID: <{mid}>\n{extra}MIME-Version: 1.0\n"
               f"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n{body}")
        mails.append({"kind": kind, "target": target, "message_id": mid, "raw": raw})
    return mails


# ============================================================================ the site side (worker)


class AppTimers:
    """Exclusive wall time per category inside the app's wrapped entry points (nested calls
    pause their caller's clock), call counts, and the SQL issued inside FrappeLookup."""

    def __init__(self):
        self.stack: list[list] = []  # [category, started, label]
        self.reset()
        self.captured: dict[str, dict] = {}  # normalised SQL -> example (lookup / records)

    def reset(self):
        self.seconds = {"engine": 0.0, "lookups": 0.0, "records": 0.0}
        self.calls = {"engine": 0, "lookups": 0, "records": 0}

    def wrap(self, category: str, label: str, fn):
        timers = self

        def wrapper(*args, **kwargs):
            now = time.perf_counter()
            if timers.stack:
                top = timers.stack[-1]
                timers.seconds[top[0]] += now - top[1]
            timers.stack.append([category, now, label])
            timers.calls[category] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                end = time.perf_counter()
                cat, started, _ = timers.stack.pop()
                timers.seconds[cat] += end - started
                if timers.stack:
                    timers.stack[-1][1] = end

        wrapper.__wrapped__ = fn
        wrapper.__name__ = getattr(fn, "__name__", label)
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        return wrapper

    def lookup_label(self) -> tuple[str, str] | None:
        """(kind, method) of the outermost lookup or record frame the current query runs in."""
        for category, _, label in self.stack:
            if category == "lookups":
                return "lookup", label
        for category, _, label in self.stack:
            if category == "records":
                return "records", label
        return None


def normalise_sql(query: str) -> str:
    q = re.sub(r"%\(\w+\)s", "?", query)
    q = re.sub(r"'(?:[^'\\]|\\.)*'", "?", q)
    q = re.sub(r"\b\d+\b", "N", q)
    q = re.sub(r"\((?:\s*\?\s*,)+\s*\?\s*\)", "(?, ...)", q)
    return re.sub(r"\s+", " ", q).strip()


class Site:
    """One site, open in this process: set-up, reset, history, and receiving mail."""

    def __init__(self, site: str, kind: str):
        self.site, self.kind = site, kind
        self.timers = AppTimers() if kind == "app" else None
        self.sql_count = 0
        self.sql_log = None  # [(statement, seconds)] of the receive() being timed
        self.sql_time: dict[str, list] = {}  # normalised statement -> [seconds, calls], per size
        self.mails_timed = 0
        self.messages = {'"INBOX"': {"latest_messages": [], "seen_status": {}, "uid_list": []}}
        self._connect()
        self._patch_sql()
        if self.timers:
            self._wrap_app()

    # -- connection: each mail is a fresh job, as a pull job is ---------------------------

    def _connect(self):
        import frappe

        frappe.init(site=self.site, sites_path=".")
        frappe.connect()
        frappe.set_user("Administrator")

    def fresh_job(self):
        import frappe

        frappe.db.commit()
        frappe.destroy()
        self._connect()

    # -- instrumentation -----------------------------------------------------------------

    def _patch_sql(self):
        from frappe.database.mariadb.database import MariaDBDatabase

        original, site = MariaDBDatabase.sql, self

        def sql(db, query, values=(), *args, **kwargs):
            site.sql_count += 1
            if site.sql_log is not None:  # inside a timed receive(): each statement's time
                started = time.perf_counter()
                try:
                    return sql_inner(db, query, values, *args, **kwargs)
                finally:
                    site.sql_log.append((query, time.perf_counter() - started))
            return sql_inner(db, query, values, *args, **kwargs)

        def sql_inner(db, query, values=(), *args, **kwargs):
            if site.timers and site.timers.stack and isinstance(query, str):
                where = site.timers.lookup_label()
                stripped = query.lstrip().lower()
                if where and where[0] == "records" and not any(
                        t.startswith("tabPT ") or t in HISTORY_TABLES for t in re.findall(r"`(tab[^`]+)`", query)):
                    where = None  # the records' reads of metadata and settings: not worth an EXPLAIN
                if where and (stripped.startswith("select") or stripped.startswith("update")
                              or stripped.startswith("delete")):
                    key = normalise_sql(query)
                    entry = site.timers.captured.setdefault(
                        key, {"kind": where[0], "method": where[1], "sql": key, "calls": 0})
                    entry["calls"] += 1
                    entry["example"] = (query, values if isinstance(values, (dict, list, tuple)) else ())
            return original(db, query, values, *args, **kwargs)

        MariaDBDatabase.sql = sql

    def _wrap_app(self):
        """Wrap the app's entry points in place (module attributes, class attributes)."""
        import importlib

        t = self.timers
        adapter = "persona_threading.frappe_adapter."

        def module(name):
            try:
                return importlib.import_module(adapter + name)
            except ImportError:
                return None

        def wrap_functions(mod, category, names=None, skip=()):
            if mod is None:
                return
            for name, value in list(vars(mod).items()):
                if name.startswith("__") or name in skip or (names is not None and name not in names):
                    continue
                if callable(value) and not isinstance(value, type) and getattr(value, "__module__", "") == mod.__name__:
                    setattr(mod, name, t.wrap(category, f"{mod.__name__.rsplit('.', 1)[-1]}.{name}", value))

        lookup = module("lookup")
        for name, value in list(vars(lookup.FrappeLookup).items()):
            if callable(value) and not name.startswith("__"):
                setattr(lookup.FrappeLookup, name, t.wrap("lookups", f"FrappeLookup.{name}", value))
        wrap_functions(lookup, "lookups", names={"days_in_status", "_count"})

        inbound = module("inbound")
        cls = inbound.PTInboundMail
        for prop in ("parsed", "decision"):  # parse + route + flood guard: the engine
            value = vars(cls).get(prop)
            if isinstance(value, property):
                setattr(cls, prop, property(t.wrap("engine", f"PTInboundMail.{prop}", value.fget), value.fset))
        for meth in ("_engine_reference", "_clean_subject", "adopt"):  # engine's reference and lifecycle
            value = vars(cls).get(meth)
            if isinstance(value, classmethod):
                setattr(cls, meth, classmethod(t.wrap("engine", f"PTInboundMail.{meth}", value.__func__)))
            elif callable(value):
                setattr(cls, meth, t.wrap("engine", f"PTInboundMail.{meth}", value))
        # Records: everything the app writes (and the reads it makes to write it).
        wrap_functions(module("store"), "records")
        wrap_functions(module("journal"), "records", skip={"take"})  # take() journals (wrapped below)
        journal = module("journal")
        if journal is not None and hasattr(journal, "take"):
            journal.take = t.wrap("records", "journal.take", journal.take)
        concurrency = module("concurrency")
        if concurrency is not None:  # not retrying(): it runs stock's whole process() inside
            wrap_functions(concurrency, "records", skip={"retrying"})
        for name in ("outbound", "notifications", "timeline", "privacy", "auto_reply", "participants"):
            wrap_functions(module(name), "records")
        wrap_functions(module("settings"), "engine")  # the routing policy and keyring it reads
        # Names imported from one adapter module into another (inbound's days_in_status,
        # site_now, ...) and hook paths resolved at call time: point them at the wrappers too.
        import pkgutil
        import persona_threading.frappe_adapter as package

        wrapped = {}
        for info in pkgutil.iter_modules(package.__path__):
            mod = module(info.name)
            for value in vars(mod).values() if mod else ():
                if callable(value) and getattr(value, "__wrapped__", None) is not None:
                    wrapped[id(value.__wrapped__)] = value
        for info in pkgutil.iter_modules(package.__path__):
            mod = module(info.name)
            for name, value in list(vars(mod).items()) if mod else ():
                if id(value) in wrapped and not name.startswith("__"):
                    setattr(mod, name, wrapped[id(value)])

    # -- set-up ---------------------------------------------------------------------------

    def setup(self):
        """The support inbox, an agent and the base state a reset returns to (idempotent)."""
        import frappe

        frappe.flags.in_test = True  # Email Account validation would connect to the servers
        try:
            if not frappe.db.exists("Email Account", ACCOUNT):
                frappe.get_doc({
                    "doctype": "Email Account", "email_account_name": ACCOUNT, "email_id": SUPPORT,
                    "password": "password", "enable_incoming": 1, "enable_outgoing": 1, "default_outgoing": 1,
                    "use_imap": 1, "email_server": "imap.pt-bench.example", "smtp_server": "smtp.pt-bench.example",
                    "enable_auto_reply": 0, "imap_folder": [{"folder_name": "INBOX", "append_to": "Issue"}],
                }).insert(ignore_permissions=True)
            if not frappe.db.exists("User", AGENT):
                frappe.get_doc({"doctype": "User", "email": AGENT, "first_name": "Agent", "send_welcome_email": 0,
                                "roles": [{"role": "Support Team"}]}).insert(ignore_permissions=True)
        finally:
            frappe.flags.in_test = False
        frappe.db.commit()
        base = {
            "at": str(frappe.utils.now_datetime().replace(microsecond=0)),
            "series": frappe.db.sql("select name, current from tabSeries", as_list=True),
            "empty": [t for t in self._tables() if not frappe.db.sql(f"select 1 from `{t}` limit 1")],
        }
        Path(frappe.get_site_path(".pt-bench-base.json")).write_text(json.dumps(base, indent=1))
        return base

    def _tables(self) -> list[str]:
        import frappe

        return [t for (t,) in frappe.db.sql(
            "select table_name from information_schema.tables where table_schema = database()")]

    def reset(self):
        """Back to the base state: history and everything received since are deleted."""
        import frappe

        if not self.site.startswith("pt-bench-"):
            raise RuntimeError(f"refusing to reset {self.site}: only pt-bench-* sites are reset")
        base = json.loads(Path(frappe.get_site_path(".pt-bench-base.json")).read_text())
        tables = set(self._tables())
        wanted = {f"tab{d}" for d in TRANSACTIONAL} | {
            t for t in tables if t.startswith("tabPT ") and t[3:] not in PT_CONFIG}
        for table in sorted(wanted & tables):
            if table in base["empty"] or table.startswith("tabPT "):  # the app's own records: all ours
                frappe.db.sql_ddl(f"truncate table `{table}`")
            else:
                frappe.db.sql(f"delete from `{table}` where creation >= %s or name like %s",
                              (base["at"], HISTORY_PREFIX + "%"))
        frappe.db.sql("delete from tabSeries")
        for name, current in base["series"]:
            frappe.db.sql("insert into tabSeries (name, current) values (%s, %s)", (name, current))
        frappe.db.commit()
        frappe.clear_cache()
        return {"issues": frappe.db.count("Issue"), "communications": frappe.db.count("Communication")}

    # -- history --------------------------------------------------------------------------

    def history(self, start: int, stop: int, now: str, chunk: int = 5000):
        """Issues [start, stop) with their Communications and Contacts (both sites); on the
        app site also the conversations, message rows and followers the backfill makes."""
        import frappe

        now_dt = dt.datetime.fromisoformat(now)
        company = frappe.db.get_value("Company", {}, "name")
        frappe.db.sql("set session unique_checks = 0")
        started = time.perf_counter()
        # PT Conversation is named format:PTC-{#####}: Frappe counts a bare {#####} under the
        # series name '' (the prefix inside the braces). History takes the next numbers, as the
        # backfill would, and the counter moves past them.
        self.next_conversation = (frappe.db.sql("select current from tabSeries where name = ''") or [[0]])[0][0]
        for lo in range(start, stop, chunk):
            hi = min(stop, lo + chunk)
            self._insert_history(lo, hi, now_dt, company)
            frappe.db.commit()
        if self.kind == "app" and stop > start:
            frappe.db.sql("insert into tabSeries (name, current) values ('', %s) "
                          "on duplicate key update current = greatest(current, values(current))",
                          (self.next_conversation,))
        frappe.db.sql("set session unique_checks = 1")
        frappe.db.commit()
        inserted = time.perf_counter() - started
        tables = ["Issue", "Communication", "Communication Link", "Contact", "Contact Email"]
        if self.kind == "app":
            tables += ["PT Conversation", "PT Conversation Message", "PT Conversation Follower"]
        for doctype in tables:
            frappe.db.sql(f"analyze table `tab{doctype}`")
        frappe.clear_cache()
        return {"seconds": round(time.perf_counter() - started, 1), "insert_seconds": round(inserted, 1),
                "rows": {d: frappe.db.count(d) for d in tables}}

    def _insert_history(self, lo: int, hi: int, now: dt.datetime, company: str):
        common = ("creation", "modified", "owner", "modified_by", "docstatus", "idx")

        def meta(created):
            return (created, created, "Administrator", "Administrator", 0, 0)

        issues, comms, links, contacts, contact_emails = [], [], [], [], []
        convs, messages, followers = [], [], []
        app = self.kind == "app"
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
            issue = f"{HISTORY_PREFIX}ISS-{i:07d}"
            closed = (now - t0).days > 30
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
                self.next_conversation += 1
                conv = f"PTC-{self.next_conversation:05d}"
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
        self._bulk("tabContact", common + ("name", "first_name", "email_id", "status"), contacts)
        self._bulk("tabContact Email", child + ("email_id", "is_primary"), contact_emails)
        self._bulk("tabIssue", common + ("name", "naming_series", "subject", "status", "raised_by", "customer_name",
                                         "opening_date", "opening_time", "company", "description",
                                         "first_responded_on", "resolution_date"), issues)
        self._bulk("tabCommunication", common + (
            "name", "communication_type", "communication_medium", "sent_or_received", "subject", "content",
            "sender", "sender_full_name", "recipients", "status", "email_status", "delivery_status",
            "reference_doctype", "reference_name", "reference_owner", "email_account", "message_id",
            "in_reply_to", "communication_date", "seen", "user"), comms)
        self._bulk("tabCommunication Link", child + ("link_doctype", "link_name", "link_title"), links)
        if app:
            self._bulk("tabPT Conversation", common + ("name", "subject", "reference_doctype", "reference_name",
                                                       "project", "email_account", "thread_root", "key",
                                                       "opened_by"), convs)
            self._bulk("tabPT Conversation Message", common + (
                "name", "conversation", "communication", "message_id", "direction", "visibility", "sender",
                "action", "rule", "evidence", "decision"), messages)
            self._bulk("tabPT Conversation Follower", common + (
                "name", "conversation", "email", "role", "active", "follower_doctype", "follower_name"), followers)

    def _bulk(self, table: str, columns: tuple, rows: list, chunk: int = 2000):
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

    # -- receiving ------------------------------------------------------------------------

    def receive(self, raw: str, message_id: str, timed: bool = True):
        """One mail through the real EmailAccount.receive(), only the mail server patched."""
        from unittest.mock import patch

        import frappe
        from frappe.email.receive import EmailServer

        self.fresh_job()
        account = frappe.get_doc("Email Account", ACCOUNT)
        self.messages['"INBOX"']["latest_messages"] = [raw]
        if self.timers:
            self.timers.reset()
        error = None
        gc.collect()
        sql_before = self.sql_count
        with (
            patch.object(EmailServer, "select_imap_folder", return_value=True),
            patch.object(EmailServer, "logout", side_effect=lambda: None),
            patch.object(EmailServer, "get_messages", side_effect=lambda **kw: self.messages.get(kw["folder"], {})),
            patch.object(EmailServer, "connect", return_value=True),
        ):
            profiler = getattr(self, "_profiler", None)
            self.sql_log = [] if timed and not profiler else None
            started = time.perf_counter()
            try:
                if profiler:
                    profiler.runcall(account.receive)
                else:
                    account.receive()
            except Exception:
                error = traceback.format_exc()[-3000:]
            seconds = time.perf_counter() - started
        queries = self.sql_count - sql_before
        if self.sql_log is not None:
            for statement, spent in self.sql_log:
                entry = self.sql_time.setdefault(normalise_sql(str(statement)), [0.0, 0])
                entry[0] += spent
                entry[1] += 1
            self.sql_log = None
            self.mails_timed += 1
        frappe.db.rollback()
        where = frappe.db.get_value("Communication", {"message_id": message_id},
                                    ["reference_doctype", "reference_name"]) or (None, None)
        result = {"seconds": seconds, "queries": queries, "error": error,
                  "issue": where[1], "history": bool(where[1] and where[1].startswith(HISTORY_PREFIX))}
        if self.timers:
            decided = frappe.db.get_value("PT Conversation Message", {"message_id": message_id}, ["action", "rule"])
            result["decision"] = "/".join(decided) if decided else "none"
            result["own"] = dict(self.timers.seconds)
            result["own_calls"] = dict(self.timers.calls)
        return result

    def sql_summary(self, top: int = 6) -> dict:
        """Where the database time of the timed mails went since the last call: the costliest
        statements (ms per mail, calls per mail) and all statements' total (ms per mail)."""
        n = max(self.mails_timed, 1)
        ranked = sorted(self.sql_time.items(), key=lambda kv: -kv[1][0])
        summary = {"total_ms_per_mail": sum(v[0] for v in self.sql_time.values()) / n * 1000,
                   "top": [{"sql": k, "ms_per_mail": v[0] / n * 1000, "calls_per_mail": v[1] / n}
                           for k, v in ranked[:top]]}
        self.sql_time, self.mails_timed = {}, 0
        return summary

    def profile(self, raw: str, message_id: str, top: int = 45) -> str:
        """One mail under cProfile: the functions it spends its time in (cumulative)."""
        import cProfile
        import io
        import pstats

        profiler = cProfile.Profile()
        self._profiler = profiler
        try:
            result = self.receive(raw, message_id)
        finally:
            self._profiler = None
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(top)
        return f"{message_id}: {result['seconds'] * 1000:.1f} ms (profiled), error: {bool(result['error'])}\n" + \
            text.getvalue()

    def explain(self):
        """EXPLAIN every captured query (the lookup's, and the records' reads), with a verdict."""
        import frappe

        out = []
        for entry in sorted(self.timers.captured.values(), key=lambda e: (e["kind"] != "lookup", e["method"])):
            query, values = entry["example"]
            try:
                try:
                    plan = frappe.db.sql("explain " + query, values or None, as_dict=True)
                except TypeError:  # values the statement had already inlined
                    plan = frappe.db.sql("explain " + query, as_dict=True)
            except Exception as exc:
                out.append({**{k: v for k, v in entry.items() if k != "example"}, "plan": [],
                            "verdict": "ERROR", "why": str(exc)[:200]})
                continue
            verdict, why = judge(plan)
            out.append({**{k: v for k, v in entry.items() if k != "example"},
                        "plan": [{k: (str(v) if v is not None else None) for k, v in row.items()} for row in plan],
                        "verdict": verdict, "why": why})
        return out


BIG = 1000  # rows: a full scan of a table this big (or bigger) fails the check


def judge(plan: list[dict]) -> tuple[str, str]:
    """OK when every table is read through an index (or a const lookup); a full scan of a
    small table (< BIG rows estimated) is OK and said so; any other full scan is FAIL."""
    notes = []
    verdict = "OK"
    for row in plan:
        table, access, key = row.get("table"), (row.get("type") or ""), row.get("key")
        extra, rows = row.get("Extra") or "", int((re.match(r"\d+", str(row.get("rows") or 0)) or [0])[0])
        if key or access in ("const", "system", "eq_ref", "ref", "range", "index_merge", "ref_or_null"):
            notes.append(f"{table}: {access} on {key}")
        elif "const table" in extra or "Impossible WHERE" in extra or table is None:
            notes.append(f"{table or '-'}: {extra or 'no table'}")
        elif rows < BIG:
            notes.append(f"{table}: full scan of a small table (~{rows} rows)")
        else:
            verdict = "FAIL"
            notes.append(f"{table}: FULL SCAN (~{rows} rows, {access or 'no access type'})")
    return verdict, "; ".join(notes)


def worker(site: str, kind: str) -> int:
    """JSON lines on stdin -> JSON lines on the protocol fd; everything else goes to stderr."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        s = Site(site, kind)
        proto.write(json.dumps({"ok": True, "result": "ready"}) + "\n")
    except Exception:
        proto.write(json.dumps({"ok": False, "error": traceback.format_exc()}) + "\n")
        return 1
    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = getattr(s, request["op"])(**request.get("args", {}))
            proto.write(json.dumps({"ok": True, "result": result}, default=str) + "\n")
        except Exception:
            proto.write(json.dumps({"ok": False, "error": traceback.format_exc()}) + "\n")
    return 0


def setup(site: str) -> int:
    kind = "app" if _site_has_app(site) else "stock"
    s = Site(site, kind)
    print(json.dumps(s.setup(), default=str)[:300])
    import frappe

    frappe.db.commit()
    frappe.destroy()
    return 0


def _site_has_app(site: str) -> bool:
    import frappe

    frappe.init(site=site, sites_path=".")
    frappe.connect()
    try:
        return "persona_threading" in frappe.get_installed_apps()
    finally:
        frappe.destroy()


# ============================================================================ the driver


class Worker:
    def __init__(self, site: str, kind: str, log: Path):
        self.site, self.kind = site, kind
        self.log = open(log, "w")
        self.proc = subprocess.Popen([sys.executable, str(HERE), "worker", site, kind], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, bufsize=1)
        self.read()

    def send(self, op: str, **args):
        self.proc.stdin.write(json.dumps({"op": op, "args": args}) + "\n")
        self.proc.stdin.flush()

    def read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.kind} site's process ({self.site}) died; see {self.log.name}")
        reply = json.loads(line)
        if not reply["ok"]:
            raise RuntimeError(f"{self.kind} site {self.site}: {reply['error']}")
        return reply["result"]

    def call(self, op: str, **args):
        self.send(op, **args)
        return self.read()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.log.close()


def both(workers, op, **args):
    """The same request to both sites at once (history generation runs in parallel)."""
    for w in workers:
        w.send(op, **args)
    return [w.read() for w in workers]


def percentile(values, q):
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def summarise(results):
    secs = [r["seconds"] for r in results]
    return {"median_ms": statistics.median(secs) * 1000, "p90_ms": percentile(secs, 0.9) * 1000,
            "mean_ms": statistics.fmean(secs) * 1000, "queries_median": statistics.median(r["queries"] for r in results),
            "errors": sum(1 for r in results if r["error"]),
            "threaded_to_history": sum(1 for r in results if r["history"])}


def run(app_site: str, stock_site: str, results_dir: Path) -> int:
    sizes = [int(s) for s in os.environ.get("PT_BENCH_SIZES", "1000 100000").split()]
    count = int(os.environ.get("PT_BENCH_MAILS", "200"))
    warmup = int(os.environ.get("PT_BENCH_WARMUP", "8"))
    profile = int(os.environ.get("PT_BENCH_PROFILE", "1"))  # mails of each kind profiled at the end
    stamp = dt.datetime.now().strftime("%Y-%m-%d-%H%M%S")
    out = results_dir / stamp
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    print(f"== app vs stock receive(): sites {app_site} (with the app) and {stock_site} (stock), "
          f"sizes {sizes}, {count} mails per size ({', '.join(KINDS)} in turn)")
    app = Worker(app_site, "app", out / "app-site.log")
    stock = Worker(stock_site, "stock", out / "stock-site.log")
    workers = [app, stock]
    try:
        t = time.perf_counter()
        both(workers, "reset")
        print(f"-- reset both sites to their first state ({time.perf_counter() - t:.0f} s)")
        now = dt.datetime.now().replace(microsecond=0).isoformat()
        done, used, report = 0, set(), {"sizes": {}}
        for size in sizes:
            t = time.perf_counter()
            gen = both(workers, "history", start=done, stop=size, now=now)
            done = size
            print(f"-- history up to {size:,} Issues ({size * COMMUNICATIONS_PER_ISSUE:,} Communications) on both "
                  f"sites: {time.perf_counter() - t:.0f} s (app site {gen[0]['seconds']} s, stock {gen[1]['seconds']} s)")
            warm = build_mails(size, warmup, used, seed=size * 10 + 1)
            mails = build_mails(size, count, used | {m["target"] for m in warm}, seed=size * 10)
            used |= {m["target"] for m in warm + mails if m["target"] is not None}
            for m in warm:
                app.call("receive", raw=m["raw"], message_id=m["message_id"])
                stock.call("receive", raw=m["raw"], message_id=m["message_id"])
            both(workers, "sql_summary")  # the warm-up mails are not counted
            t = time.perf_counter()
            per = {"app": [], "stock": []}
            for n, m in enumerate(mails):
                order = [(app, "app"), (stock, "stock")] if n % 2 == 0 else [(stock, "stock"), (app, "app")]
                for w, side in order:
                    r = w.call("receive", raw=m["raw"], message_id=m["message_id"])
                    r["kind"] = m["kind"]
                    per[side].append(r)
                if (n + 1) % 50 == 0:
                    print(f"   {n + 1}/{len(mails)} mails received on both sites", flush=True)
            print(f"-- {count} mails through receive() on both sites at {size:,}: {time.perf_counter() - t:.0f} s")
            report["sizes"][size] = measure(per)
            report["sizes"][size]["sql"] = dict(zip(("app", "stock"), both(workers, "sql_summary")))
            if profile and size == max(sizes):  # a few more mails, profiled (not in the figures)
                extra = build_mails(size, profile * len(KINDS), used, seed=size * 10 + 2)
                used |= {m["target"] for m in extra if m["target"] is not None}
                with open(out / "profiles.txt", "w") as f:
                    for m in extra:
                        for w in workers:
                            f.write(f"===== {w.kind} site, {KIND_TITLES[m['kind']]}, history {size:,}\n")
                            f.write(w.call("profile", raw=m["raw"], message_id=m["message_id"]) + "\n")
                print(f"-- profiles of {len(extra)} more mails on each site: {out / 'profiles.txt'}")
        explain = app.call("explain")
    finally:
        for w in workers:
            try:
                w.close()
            except Exception:
                w.proc.kill()
    report.update(machine=machine(app_site), explain=explain, mails_per_size=count, warmup_mails=warmup,
                  kinds=list(KINDS), history={"communications_per_issue": COMMUNICATIONS_PER_ISSUE,
                                              "days": HISTORY_DAYS, "contacts": "one per two Issues"},
                  sites={"app": app_site, "stock": stock_site}, started=stamp)
    report["targets"] = targets(report, sizes)
    report["seconds"] = round(time.perf_counter() - began)
    write_results(report, out)
    return 0


def measure(per):
    app, stock = per["app"], per["stock"]
    own_total = [sum(r["own"].values()) for r in app]
    total = sum(r["seconds"] for r in app)
    by_cat = {c: sum(r["own"][c] for r in app) for c in ("engine", "lookups", "records")}
    shares = [o / r["seconds"] for o, r in zip(own_total, app) if r["seconds"] > 0]
    kinds = {}
    for kind in KINDS:
        a = [r for r in app if r["kind"] == kind]
        s = [r for r in stock if r["kind"] == kind]
        kinds[kind] = {"app": summarise(a), "stock": summarise(s),
                       "app_decisions": dict(collections.Counter(r.get("decision", "?") for r in a).most_common())}
    errors = [r["error"] for r in app + stock if r["error"]][:3]
    return {
        "app": summarise(app), "stock": summarise(stock),
        "own": {"share": sum(own_total) / total, "share_median": statistics.median(shares),
                "median_ms": statistics.median(own_total) * 1000,
                "by_category_ms_per_mail": {c: v / len(app) * 1000 for c, v in by_cat.items()}},
        "kinds": kinds, "first_errors": errors,
        "samples_ms": {"app": [r["seconds"] * 1000 for r in app], "stock": [r["seconds"] * 1000 for r in stock]},
    }


def targets(report, sizes):
    s = report["sizes"]
    lo, hi = min(sizes), max(sizes)
    out = []
    if lo != hi:
        growth = s[hi]["app"]["median_ms"] / s[lo]["app"]["median_ms"]
        out.append({"target": f"app cost at {hi:,} <= {TARGET_GROWTH}x its cost at {lo:,}",
                    "value": f"{growth:.2f}x", "met": growth <= TARGET_GROWTH})
    speedup = s[hi]["stock"]["median_ms"] / s[hi]["app"]["median_ms"]
    out.append({"target": f"at {hi:,} the app at least {TARGET_SPEEDUP:.0f}x faster than stock",
                "value": f"{speedup:.2f}x", "met": speedup >= TARGET_SPEEDUP})
    worst = max(s[n]["own"]["share"] for n in sizes)
    out.append({"target": f"the app's own work under {TARGET_SHARE:.0%} of the per-mail cost",
                "value": f"{worst:.1%} (worst size)", "met": worst < TARGET_SHARE})
    fails = [e for e in report["explain"] if e["kind"] == "lookup" and e["verdict"] != "OK"]
    out.append({"target": "every FrappeLookup query uses an index", "value": f"{len(fails)} not",
                "met": not fails})
    return out


def machine(site: str) -> dict:
    import frappe

    info = {"python": platform.python_version(), "os": platform.platform(), "cores": os.cpu_count()}
    try:
        release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
        info["os"] = release.get("PRETTY_NAME", "").strip('"') + f" ({platform.release()})"
    except OSError:
        pass
    try:
        cpu = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
               if line.startswith("model name")]
        info["cpu"] = cpu[0] if cpu else platform.processor()
        mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        info["ram"] = f"{int(mem.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    frappe.init(site=site, sites_path=".")
    frappe.connect()
    try:
        info["mariadb"] = frappe.db.sql("select version()")[0][0]
        info["innodb_buffer_pool"] = f"{int(frappe.db.sql('select @@innodb_buffer_pool_size')[0][0]) // 2**20} MiB"
        versions = {}
        for app in ("frappe", "erpnext", "persona_threading"):
            try:
                versions[app] = getattr(__import__(app), "__version__", "?")
            except ImportError:
                versions[app] = "not installed"
        info["versions"] = versions
        app_path = Path(frappe.get_app_path("persona_threading")).parent
        commit = subprocess.run(["git", "-C", str(app_path), "describe", "--always", "--dirty"],
                                capture_output=True, text=True).stdout.strip()
        info["app_checkout"] = f"{app_path.resolve()} @ {commit or '?'}"
        bench_commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                                      capture_output=True, text=True).stdout.strip()
        info["benchmark_checkout"] = f"{ROOT} @ {bench_commit or '?'}"
    finally:
        frappe.destroy()
    return info


# ============================================================================ output


def write_results(report: dict, out: Path) -> None:
    lines = table_lines(report)
    print("\n".join(lines))
    (out / "results.json").write_text(json.dumps(report, indent=1, default=str))
    md = [f"# persona_threading: receive() with the app vs stock Frappe ({report['started']})", ""]
    md += ["```", *lines, "```", "", "## Machine", ""]
    m = report["machine"]
    md += [f"- CPU: {m.get('cpu', '?')}, {m.get('cores')} cores; RAM {m.get('ram', '?')}",
           f"- OS: {m.get('os')}; Python {m.get('python')}",
           f"- MariaDB {m.get('mariadb')} (InnoDB buffer pool {m.get('innodb_buffer_pool')})",
           "- " + ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items()),
           f"- app: {m.get('app_checkout')}", f"- benchmark: {m.get('benchmark_checkout')}", ""]
    md += ["## EXPLAIN of every query FrappeLookup issued", ""]
    for e in report["explain"]:
        if e["kind"] == "lookup":
            md += [f"- **{e['verdict']}** `{e['method']}` ({e['calls']} calls): `{e['sql']}`", f"  - {e['why']}"]
    md += ["", "## For information: reads of history-sized tables inside the app's record writes", ""]
    for e in report["explain"]:
        if e["kind"] != "lookup":
            md += [f"- **{e['verdict']}** `{e['method']}` ({e['calls']} calls): `{e['sql']}`", f"  - {e['why']}"]
    (out / "results.md").write_text("\n".join(md) + "\n")
    plotted = plot(report, out / "receive-cost.png")
    print(f"results: {out}/results.md, results.json" + (", receive-cost.png" if plotted else
                                                         " (no plot: matplotlib is not installed)"))


def table_lines(report: dict) -> list[str]:
    s = report["sizes"]
    lines = ["", "per-mail receive() cost (median / p90, ms), same mails on both sites:",
             f"  {'history':>10} {'app':>17} {'stock':>17} {'stock/app':>10} {'app own work':>20} {'queries app/stock':>18}"]
    for size, r in s.items():
        a, st, own = r["app"], r["stock"], r["own"]
        lines.append(f"  {int(size):>10,} {a['median_ms']:7.1f} / {a['p90_ms']:7.1f} {st['median_ms']:7.1f} / "
                     f"{st['p90_ms']:7.1f} {st['median_ms'] / a['median_ms']:9.2f}x "
                     f"{own['median_ms']:6.1f} ms = {own['share']:5.1%} {a['queries_median']:>8.0f} / "
                     f"{st['queries_median']:<8.0f}")
    lines.append("  app own work per mail (mean, ms): " + "; ".join(
        f"{int(size):,}: " + ", ".join(f"{c} {v:.1f}" for c, v in r["own"]["by_category_ms_per_mail"].items())
        for size, r in s.items()))
    lines += ["", "by kind of mail (median ms app / stock; how many landed on their history Issue app / stock;"
              " the app's decisions):"]
    for size, r in s.items():
        for kind, k in r["kinds"].items():
            lines.append(f"  {int(size):>10,} {KIND_TITLES[kind]:<24} {k['app']['median_ms']:7.1f} / "
                         f"{k['stock']['median_ms']:7.1f}   on history {k['app']['threaded_to_history']:>3} / "
                         f"{k['stock']['threaded_to_history']:<3}  app decided: "
                         + ", ".join(f"{d} x{n}" for d, n in k["app_decisions"].items()))
        if r["first_errors"]:
            lines.append(f"  {int(size):>10,} ERRORS in receive(): app {r['app']['errors']}, stock "
                         f"{r['stock']['errors']}; first: {r['first_errors'][0].strip().splitlines()[-1]}")
    lines += ["", "where the database time goes (ms per mail, all statements / the costliest; calls per mail):"]
    for size, r in s.items():
        for side in ("app", "stock"):
            q = r.get("sql", {}).get(side)
            if not q:
                continue
            lines.append(f"  {int(size):>10,} {side:<5} SQL total {q['total_ms_per_mail']:7.1f} ms")
            for t in q["top"][:4]:
                lines.append(f"  {'':>10} {'':<5} {t['ms_per_mail']:7.1f} ms  x{t['calls_per_mail']:<4.1f} "
                             f"{t['sql'][:110]}")
    lines += ["", "EXPLAIN of every query FrappeLookup issued (at the largest history):"]
    for e in report["explain"]:
        if e["kind"] != "lookup":
            continue
        lines.append(f"  [{e['verdict']:<4}] {e['method']:<40} {e['sql'][:150]}")
        lines.append(f"         {e['why']}")
    reads = [e for e in report["explain"] if e["kind"] != "lookup"]
    bad = [e for e in reads if e["verdict"] != "OK"]
    if reads:
        lines += ["", f"for information: {len(reads)} reads of history-sized tables inside the app's record writes "
                      f"(store, journal, hooks) EXPLAINed, {len(bad)} not through an index"
                      + (":" if bad else " (all in results.md)")]
        for e in bad:
            lines.append(f"  [{e['verdict']:<4}] {e['method']:<40} {e['sql'][:150]}")
            lines.append(f"         {e['why']}")
    lines += ["", "targets:"]
    for t in report["targets"]:
        lines.append(f"  {'MET    ' if t['met'] else 'NOT MET'}  {t['target']}: {t['value']}")
    lines.append(f"(whole run: {report['seconds']} s; `make bench` exits 0 whether the targets are met or not)")
    return lines


def plot(report: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    sizes = list(report["sizes"])
    labels = [f"{int(n):,} Issues" for n in sizes]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    x = range(len(sizes))
    width = 0.38
    for offset, side, colour in ((-width / 2, "app", "#2b7bb9"), (width / 2, "stock", "#c0504d")):
        med = [report["sizes"][n][side]["median_ms"] for n in sizes]
        p90 = [report["sizes"][n][side]["p90_ms"] for n in sizes]
        bars = ax.bar([i + offset for i in x], med, width, color=colour,
                      label="with persona_threading" if side == "app" else "stock Frappe",
                      yerr=[[0] * len(med), [p - m for p, m in zip(p90, med)]], capsize=4)
        ax.bar_label(bars, fmt="%.0f", padding=2, fontsize=8)
    ax.set_xticks(list(x), labels)
    ax.set_ylabel("ms per mail (median, whisker to p90)")
    ax.set_title("EmailAccount.receive(), one mail")
    ax.legend()
    cats = ("engine", "lookups", "records")
    bottom = [0.0] * len(sizes)
    for cat, colour in zip(cats, ("#4caf50", "#ff9800", "#9c27b0")):
        vals = [report["sizes"][n]["own"]["by_category_ms_per_mail"][cat] for n in sizes]
        ax2.bar(list(x), vals, 0.5, bottom=bottom, color=colour, label=cat)
        bottom = [b + v for b, v in zip(bottom, vals)]
    rest = [report["sizes"][n]["app"]["mean_ms"] - b for n, b in zip(sizes, bottom)]
    ax2.bar(list(x), rest, 0.5, bottom=bottom, color="#cccccc", label="stock work under the app")
    for i, n in enumerate(sizes):
        ax2.text(i, report["sizes"][n]["app"]["mean_ms"], f"app's own {report['sizes'][n]['own']['share']:.0%}",
                 ha="center", va="bottom", fontsize=8)
    ax2.set_xticks(list(x), labels)
    ax2.set_ylabel("ms per mail (mean)")
    ax2.set_title("with the app: its own work vs the rest")
    ax2.legend(fontsize=8)
    m = report["machine"]
    fig.suptitle(f"{m.get('cpu', '?')}, {m.get('cores')} cores, MariaDB {m.get('mariadb')}, "
                 f"{report['started']}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("setup")
    p.add_argument("site")
    p = sub.add_parser("run")
    p.add_argument("app_site")
    p.add_argument("stock_site")
    p.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    p = sub.add_parser("worker")
    p.add_argument("site")
    p.add_argument("kind", choices=("app", "stock"))
    args = parser.parse_args(argv)
    if args.command == "setup":
        return setup(args.site)
    if args.command == "worker":
        return worker(args.site, args.kind)
    try:
        return run(args.app_site, args.stock_site, args.results)
    except Exception as exc:
        print(f"FAILED: the app vs stock benchmark did not finish: {str(exc).strip().splitlines()[-1]}",
              file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
