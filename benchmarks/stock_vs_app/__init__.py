"""`make bench`, second part: per-mail ``EmailAccount.receive()`` cost with the app beside
stock Frappe, on two sites of the project's bench (see benchmarks/stock_vs_app.sh).

Run with the bench's Python from ``<bench>/sites``, this folder's parent on PYTHONPATH (the
shell script does):

    python -m stock_vs_app setup SITE                  once per site: inbox, agent, base state
    python -m stock_vs_app run APP_SITE STOCK_SITE     reset, history, mails, timings, EXPLAIN, results
    python -m stock_vs_app worker SITE app|stock       (internal) one site's process, JSON lines on stdio

One process per site keeps its site open; the driver feeds both the same mail in turn
(alternating which goes first), so both sides see the same machine load. Each mail is
received as a pull job receives it: a fresh ``frappe.init``/``connect`` (untimed), then the
timed ``EmailAccount.receive()`` with only the mail server patched (as tests/helpers.receive).

The app's own work (engine + lookups + records) is the exclusive wall time inside its entry
points, wrapped with timers in the app site's process: the engine (parse, route, flood guard,
lifecycle), every FrappeLookup method, and its record writes (store, journal, doc-event hooks).
Stock's work that the app calls into (super().process(), the Issue and Communication inserts)
is not counted as the app's, nor what stock's receive() reads itself when the app's code reads
it first (stock DocTypes' metadata, a reply's document: timing.AppTimers). Every query
FrappeLookup issues is captured and EXPLAINed.

Every mail is checked against where each system's rules put it (landing.py): a speed figure
for mail that went to the wrong place means nothing, so such a mail fails the run (exit 1).
Targets (ratios, not timed tests) exit 0 either way: app cost at 100k <= 1.1x its cost at 1k;
at 100k the app at least 5x faster than stock; the app's own work < 10% of the per-mail cost.

Only stable app APIs are imported (FrappeLookup, the adapter modules' public functions,
engine.decision); whatever is missing in the linked app version is simply not wrapped.

The parts: history.py (the generated history and mails), sites.py (one site's process:
set-up, reset, receive), timing.py (timers and SQL capture), explain.py (EXPLAIN verdicts),
landing.py (where each mail must land), driver.py (both sites in turn), report.py (figures,
targets, table, files, plot).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout

ACCOUNT = "_PT Bench Support"
SUPPORT = "support@pt-bench.example"
AGENT = "agent@pt-bench.example"
# Replies go to Issues under way (as most replies do); one kind in five answers an Issue
# closed long ago, where the two systems do different work by design (landing.py says which).
KINDS = ("new", "in-reply-to", "references", "subject", "closed")
KIND_TITLES = {"new": "new mail", "in-reply-to": "In-Reply-To reply", "references": "References-only reply",
               "subject": "subject-only reply", "closed": "reply to a closed Issue"}
HISTORY_PREFIX = "PTB-"  # names of the generated history rows; a reset deletes them
