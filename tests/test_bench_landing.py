"""`make bench` checks where every mail landed against each system's rules (no Frappe needed)."""

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from stock_vs_app import landing  # noqa: E402
from stock_vs_app.history import build_mails, history_time, is_closed, issue_name, most_mails  # noqa: E402

NOW = dt.datetime(2026, 12, 7, 12, 0, 0)


def _reply(kind: str, closed: bool) -> dict:
    """A benchmark mail of ``kind`` to a history Issue that is (or is not) closed."""
    for seed in range(100):
        for mail in build_mails(2000, 8, set(), seed):
            if mail["kind"] == kind and is_closed(history_time(mail["target"], NOW), NOW) == closed:
                return mail
    raise AssertionError("no such mail generated")


def _result(issue, decision="none", evidence="", error=None):
    return {"issue": issue, "decision": decision, "evidence": evidence, "error": error}


def test_a_reply_to_a_closed_issue_is_a_linked_new_issue_with_the_app_and_the_old_one_with_stock():
    mail = _reply("closed", closed=True)
    target = issue_name(mail["target"])
    app = landing.check("app", 2000, [(mail, _result("ISS-2026-00001", "new/in_reply_to",
                                                      f"Issue {target} is closed, so a new linked one was opened"))], NOW)
    stock = landing.check("stock", 2000, [(mail, _result(target))], NOW)
    assert (app[0]["expected"], app[0]["why"], app[0]["problem"]) == ("linked new Issue", "reply to a closed Issue", None)
    assert stock[0]["expected"] == "its Issue" and stock[0]["problem"] is None
    report = {"sizes": {2000: {"landing": {"app": app, "stock": stock}}}}
    text = "\n".join(landing.lines(report))
    assert "app: linked new Issue (reply to a closed Issue)" in text and "MISPLACED" not in text


def test_replies_answer_issues_under_way_and_one_kind_in_five_a_closed_one():
    mails = build_mails(2000, 40, set(), 3)
    now = dt.datetime.now(dt.timezone.utc)
    closed = {m["kind"]: {is_closed(history_time(m["target"], now), now) for m in mails if m["kind"] == k}
              for k in ("in-reply-to", "references", "subject", "closed") for m in mails if m["kind"] == k}
    assert closed == {"in-reply-to": {False}, "references": {False}, "subject": {False}, "closed": {True}}
    assert len({m["target"] for m in mails if m["target"] is not None}) == 32  # each Issue answered once


def test_a_mail_that_landed_elsewhere_is_misplaced():
    mail = _reply("references", closed=False)
    rows = landing.check("app", 200, [(mail, _result("ISS-2026-00002", "new/references"))], NOW)
    assert "landed on ISS-2026-00002 (new Issue)" in rows[0]["problem"]
    assert "the app decided new/references, its rules give threaded/references" in rows[0]["problem"]
    report = {"sizes": {200: {"landing": {"app": rows, "stock": []}}}}
    assert landing.misplaced(report) == rows
    assert any(line.startswith("  MISPLACED app") for line in landing.lines(report))


def test_two_mails_on_one_new_issue_and_errors_are_misplaced():
    first, second = build_mails(2000, 8, set(), 1)[0], build_mails(2000, 8, set(), 1)[5]
    rows = landing.check("stock", 2000, [(first, _result("ISS-2026-00003")), (second, _result("ISS-2026-00003"))], NOW)
    assert rows[0]["problem"] is None and "is the one <" in rows[1]["problem"]
    rows = landing.check("stock", 2000, [(first, _result(None, error="Traceback ..."))], NOW)
    assert "an error in receive()" in rows[0]["problem"]


def test_a_run_whose_mail_landed_nowhere_meets_no_speed_target():
    """A broken app stores nothing quickly: its speed must not read as a target met."""
    from stock_vs_app.report import targets

    mail = _reply("in-reply-to", closed=False)
    app = landing.check("app", 2000, [(mail, _result(None))], NOW)
    stock = landing.check("stock", 2000, [(mail, _result(issue_name(mail["target"])))], NOW)
    sizes = {2000: {"app": {"median_ms": 40.0}, "stock": {"median_ms": 80.0}, "own": {"share": 0.05},
                    "landing": {"app": app, "stock": stock}}}
    met = {t["target"]: (t["met"], t["value"]) for t in targets({"sizes": sizes, "explain": []}, [2000])}
    assert met["at 2,000 the app costs at most what stock does"] == (
        False, "0.50x stock's, not measured: 1 mails landed elsewhere")
    assert met["the app's own work under 10% of the per-mail cost"][0] is False
    assert not any("faster than stock" in target for target in met)  # one size: no large-history target


def test_the_default_run_fits_a_small_history_instead_of_failing():
    """`make bench`'s 200 mails ask for more Issues under way than 1,000 have: it takes what
    fits (each reply to an Issue of its own) rather than stopping before any figure."""
    fits = most_mails(1000, 200, set())
    assert 50 < fits < 200
    mails = build_mails(1000, fits, set(), seed=1)
    assert len({m["target"] for m in mails if m["target"] is not None}) == len([m for m in mails if m["target"] is not None])
    assert most_mails(100_000, 200, set()) == 200


def test_pulls_of_several_mails_are_a_pulls_cost_shared_by_its_mails():
    from stock_vs_app.report import measure_pulls

    def pull(seconds, own, mails):
        return {"seconds": seconds, "own": {"engine": own}, "mails": [{}] * mails, "error": None}

    figures = measure_pulls({"app": [pull(0.5, 0.05, 5), pull(0.3, 0.03, 5), pull(0.2, 0.02, 2)],
                             "stock": [pull(1.0, 0, 5), pull(1.0, 0, 5), pull(0.4, 0, 2)]}, 5)
    assert figures["mails"] == 12 and figures["pulls"] == 3
    assert round(figures["app_ms_per_mail"], 1) == 100.0  # of 100, 60, 100 ms a mail
    assert round(figures["stock_ms_per_mail"], 1) == 200.0
    assert round(figures["own_share"], 3) == 0.1 and round(figures["own_ms_per_mail"], 2) == 8.33
