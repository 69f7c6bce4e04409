"""Timing inside a site's process: the app's own work (exclusive time in its wrapped entry
points), every SQL statement counted and timed, and the queries worth an EXPLAIN captured."""

from __future__ import annotations

import functools
import re
import time

HISTORY_TABLES = {f"tab{d}" for d in ("Issue", "Communication", "Communication Link", "Contact", "Contact Email",
                                     "Dynamic Link", "Version", "Comment", "ToDo", "User", "Has Role", "Customer")}


#: The DocTypes whose metadata stock's own receive() of the benchmark's mails reads (traced
#: on the stock site: its Redis reads of doctype_meta). Read first inside the app's code,
#: their metadata is stock's cost paid earlier; any other DocType's (Project, HD Team, the
#: app's own) is the app's.
STOCK_READS_METADATA = frozenset({
    "Email Account", "IMAP Folder", "Communication", "Communication Link", "Issue", "HD Ticket", "Company", "Version",
    "User", "DocType", "Contact", "Contact Email", "Contact Phone", "Dynamic Link", "CRM Settings", "ToDo"})


class AppTimers:
    """Exclusive wall time per category inside the app's wrapped entry points (nested calls
    pause their caller's clock), call counts, and the SQL issued inside FrappeLookup.

    What stock's receive() does itself, done inside the app's code instead, is stock's work,
    not the app's: only one of them pays for it in a receive(). That is the metadata stock
    reads (STOCK_READS_METADATA: the Communication's, read first in the app's as_dict), and,
    for a mail with In-Reply-To (``stock_loads_reference``, while its reference is looked for), the document it
    replies to: stock's reference_document() loads it with get_doc, the app's
    store.parent_document does instead (for a References-only reply stock finds no document
    and opens a new one: the app's load stays its own). It pauses the app's clock (``STOCK``)
    and is reported beside the app's own work, never in it."""

    STOCK = "stock"

    def __init__(self):
        self.stack: list[list] = []  # [category, started, label]
        self.reset()
        self.captured: dict[str, dict] = {}  # normalised SQL -> example (lookup / records)

    def reset(self):
        self.seconds = {"engine": 0.0, "lookups": 0.0, "records": 0.0}
        self.calls = {"engine": 0, "lookups": 0, "records": 0}
        self.stock_inside = 0.0  # seconds of stock's work done inside the app's frames
        self.stock_loads_reference = False  # the mail being referenced has In-Reply-To: stock loads it too

    def wrap(self, category: str, label: str, fn):
        timers = self

        def wrapper(*args, **kwargs):
            now = time.perf_counter()
            if timers.stack:
                top = timers.stack[-1]
                timers._add(top[0], now - top[1])
            timers.stack.append([category, now, label])
            if category in timers.calls:
                timers.calls[category] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                end = time.perf_counter()
                cat, started, _ = timers.stack.pop()
                timers._add(cat, end - started)
                if timers.stack:
                    timers.stack[-1][1] = end

        wrapper.__wrapped__ = fn
        wrapper.__name__ = getattr(fn, "__name__", label)
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        return wrapper

    def _add(self, category: str, seconds: float) -> None:
        if category == self.STOCK:
            self.stock_inside += seconds
        else:
            self.seconds[category] += seconds

    def lookup_label(self) -> tuple[str, str] | None:
        """(kind, method) of the outermost lookup or record frame the current query runs in."""
        for category, _, label in self.stack:
            if category == "lookups":
                return "lookup", label
        for category, _, label in self.stack:
            if category == "records":
                return "records", label
        return None


@functools.lru_cache(maxsize=8192)  # inside the app's timed frames: the capture must not cost it
def normalise_sql(query: str) -> str:
    q = re.sub(r"%\(\w+\)s", "?", query)
    q = re.sub(r"'(?:[^'\\]|\\.)*'", "?", q)
    q = re.sub(r"\b\d+\b", "N", q)
    q = re.sub(r"\((?:\s*\?\s*,)+\s*\?\s*\)", "(?, ...)", q)
    return re.sub(r"\s+", " ", q).strip()


@functools.lru_cache(maxsize=8192)
def _names_history_or_app_table(query: str) -> bool:
    return any(t.startswith("tabPT ") or t in HISTORY_TABLES for t in re.findall(r"`(tab[^`]+)`", query))


def patch_sql(site) -> None:
    """Count every statement of ``site``'s process, time each inside a timed receive()
    (``site.sql_log``), and capture what the app's lookups and record writes ask."""
    from frappe.database.mariadb.database import MariaDBDatabase

    original = MariaDBDatabase.sql

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
            if where and where[0] == "records" and not _names_history_or_app_table(query):
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


def wrap_app(t: AppTimers) -> None:
    """Wrap the app's entry points in place (module attributes, class attributes)."""
    import importlib

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

    import frappe.model.meta as frappe_meta

    stock_meta = t.wrap(t.STOCK, "frappe.get_meta (a stock DocType)", frappe_meta.get_meta)
    app_meta = frappe_meta.get_meta

    def get_meta(doctype, *args, **kwargs):  # metadata stock's receive() reads anyway: stock's (AppTimers)
        stock = t.stack and doctype in STOCK_READS_METADATA
        return (stock_meta if stock else app_meta)(doctype, *args, **kwargs)

    frappe_meta.get_meta = get_meta

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
    reference = vars(cls).get("_engine_reference")
    if callable(reference):  # the mail whose reply's document is looked for: does stock load it too?
        def engine_reference(mail, *args, **kwargs):
            t.stock_loads_reference = bool(getattr(mail, "in_reply_to", None))
            try:
                return reference(mail, *args, **kwargs)
            finally:
                t.stock_loads_reference = False

        cls._engine_reference = engine_reference
    # Records: everything the app writes (and the reads it makes to write it).
    wrap_functions(module("store"), "records")
    import frappe

    load = frappe.get_doc
    stock_load = t.wrap(t.STOCK, "frappe.get_doc (a reply's document, as stock's reference_document())", load)

    def get_doc(*args, **kwargs):  # see AppTimers: only where stock loads the same document
        if t.stock_loads_reference and t.stack and t.stack[-1][2] == "store.parent_document":
            return stock_load(*args, **kwargs)
        return load(*args, **kwargs)

    frappe.get_doc = get_doc
    wrap_functions(module("rows"), "records")  # how those rows are written (fitted, inserted)
    wrap_functions(module("journal"), "records", skip={"take"})  # take() journals (wrapped below)
    journal = module("journal")
    if journal is not None and hasattr(journal, "take"):
        journal.take = t.wrap("records", "journal.take", journal.take)
    concurrency = module("concurrency")
    if concurrency is not None:  # not retrying(): it runs stock's whole process() inside
        wrap_functions(concurrency, "records", skip={"retrying"})
    for name in ("followers", "outbound", "notifications", "timeline", "privacy", "auto_reply", "participants", "review_queue"):
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

