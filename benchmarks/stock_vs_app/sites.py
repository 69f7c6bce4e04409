"""One site, open in its own process (``python -m stock_vs_app worker``): set-up, reset,
history, and each mail through the real ``EmailAccount.receive()``."""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import sys
import time
import traceback
from pathlib import Path

from . import ACCOUNT, AGENT, HISTORY_PREFIX, SUPPORT
from .explain import explain
from .history import insert_history
from .timing import AppTimers, normalise_sql, patch_sql, wrap_app

TRANSACTIONAL = ("Issue", "Communication", "Communication Link", "Contact", "Contact Email", "Contact Phone",
                 "Dynamic Link", "Comment", "Version", "ToDo", "Notification Log", "Email Queue",
                 "Email Queue Recipient", "Error Log", "Unhandled Email", "File", "Activity Log",
                 "Deleted Document", "Scheduled Job Log")
PT_CONFIG = ("PT Inbox Scope", "PT Snippet", "PT Settings")  # the app's configuration: kept


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
        patch_sql(self)
        if self.timers:
            wrap_app(self.timers)

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
        conversations = (frappe.db.sql("select current from tabSeries where name = ''") or [[0]])[0][0]
        for lo in range(start, stop, chunk):
            hi = min(stop, lo + chunk)
            conversations = insert_history(lo, hi, now_dt, company, self.kind == "app", conversations)
            frappe.db.commit()
        if self.kind == "app" and stop > start:
            frappe.db.sql("insert into tabSeries (name, current) values ('', %s) "
                          "on duplicate key update current = greatest(current, values(current))",
                          (conversations,))
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


    # -- receiving ------------------------------------------------------------------------

    def receive(self, raw: str, message_id: str, timed: bool = True):
        """One mail through the real EmailAccount.receive(), only the mail server patched."""
        pulled = self.pull([raw], [message_id], timed)
        return {**{k: v for k, v in pulled.items() if k != "mails"}, **pulled["mails"][0]}

    def pull(self, raws: list[str], message_ids: list[str], timed: bool = True):
        """One pull that fetches ``raws`` through the real EmailAccount.receive(), only the mail
        server patched: its cost, and where each mail landed (``mails``, in order)."""
        from unittest.mock import patch

        import frappe
        from frappe.email.receive import EmailServer

        self.fresh_job()
        account = frappe.get_doc("Email Account", ACCOUNT)
        self.messages['"INBOX"']["latest_messages"] = list(raws)
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
            self.mails_timed += len(raws)
        frappe.db.rollback()
        result = {"seconds": seconds, "queries": queries, "error": error, "mails": []}
        for message_id in message_ids:
            where = frappe.db.get_value("Communication", {"message_id": message_id},
                                        ["reference_doctype", "reference_name"]) or (None, None)
            mail = {"issue": where[1]}
            if self.timers:
                decided = frappe.db.get_value("PT Conversation Message", {"message_id": message_id},
                                              ["action", "rule", "evidence"])
                mail["decision"] = "/".join(decided[:2]) if decided else "none"
                mail["evidence"] = decided[2] if decided else ""  # names the closed Issue a new one follows
            result["mails"].append(mail)
        if self.timers:
            result["own"] = dict(self.timers.seconds)
            result["own_calls"] = dict(self.timers.calls)
            result["stock_inside"] = self.timers.stock_inside  # stock's, inside the app's frames
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

    def explain(self) -> list[dict]:
        """EXPLAIN of what the app's lookups and record writes asked (app site only)."""
        return explain(self.timers.captured)


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

