"""Where each benchmark mail must land, on each site by that system's own rules, and the check
that it did: a speed figure for mail that went to the wrong place means nothing.

The two systems differ by design, and the report says where and why:
- the app: In-Reply-To or References naming a mail of an Issue threads onto it, but a reply
  to a Closed Issue opens a new Issue linked to it (its default closed-ticket policy; the
  history generator closes Issues opened more than 30 days ago); a subject alone threads
  nothing; its decision (PT Conversation Message) must say the same;
- stock Frappe (v15): In-Reply-To naming a stored Communication threads onto its Issue (a
  closed one is reopened); it reads no References, and its subject match runs only for an
  inbox with an append_to of its own, which an IMAP inbox like the benchmark's (append_to per
  folder) has not: any other reply opens a new Issue.
"""

from __future__ import annotations

import collections
import datetime as dt

from . import HISTORY_PREFIX, KIND_TITLES
from .history import history_time, is_closed, issue_name

ITS_ISSUE, NEW_ISSUE, LINKED_ISSUE = "its Issue", "new Issue", "linked new Issue"
HEADER = {"in-reply-to": "In-Reply-To", "closed": "In-Reply-To", "references": "References"}
RULE = {"in-reply-to": "in_reply_to", "closed": "in_reply_to", "references": "references"}  # the app's rule for each reply


def expected(side: str, mail: dict, now: dt.datetime) -> tuple[str, str]:
    """(where, why): where ``side``'s rules put ``mail``, from the history it was generated on."""
    kind, target = mail["kind"], mail["target"]
    if target is None:
        return NEW_ISSUE, "new mail"
    closed = is_closed(history_time(target, now), now)
    if side == "app":
        if kind == "subject":
            return NEW_ISSUE, "a subject alone threads nothing: anyone can write one"
        if closed:
            return LINKED_ISSUE, "reply to a closed Issue"
        return ITS_ISSUE, f"{HEADER[kind]} names a mail of it"
    if kind in ("in-reply-to", "closed"):
        return ITS_ISSUE, "In-Reply-To names a mail of it" + ("; a closed one reopens" if closed else "")
    stock = "stock reads no References and matches" if kind == "references" else "stock matches"
    return NEW_ISSUE, f"no In-Reply-To; {stock} no subjects in an IMAP inbox"


def landed(side: str, mail: dict, result: dict) -> str:
    """Where the mail went on ``side``, in the words of ``expected``."""
    issue = result["issue"]
    if result["error"]:
        return "an error in receive()"
    if not issue:
        return "no Issue"
    if mail["target"] is not None and issue == issue_name(mail["target"]):
        return ITS_ISSUE
    if issue.startswith(HISTORY_PREFIX):
        return f"another history Issue ({issue})"
    if side == "app" and mail["target"] is not None and issue_name(mail["target"]) in (result.get("evidence") or ""):
        return LINKED_ISSUE
    return NEW_ISSUE


def _decision_problem(mail: dict, result: dict, where: str) -> str | None:
    """The app's recorded decision must be the one its rules give."""
    action, _, rule = result.get("decision", "none").partition("/")
    want = "threaded" if where == ITS_ISSUE else "new"
    want_rule = RULE.get(mail["kind"]) if where != NEW_ISSUE else None
    if action != want or (want_rule and rule != want_rule):
        return f"the app decided {result.get('decision', 'none')}, its rules give {want}" + (
            f"/{want_rule}" if want_rule else "")
    return None


def check(side: str, size: int, received: list[tuple[dict, dict]], now: dt.datetime, warmup: int = 0) -> list[dict]:
    """One row per (mail, receive() result) of ``side``: expected, landed, and what is wrong
    (the first ``warmup`` mails are the untimed warm-up)."""
    rows, opened_by = [], {}
    for n, (mail, result) in enumerate(received):
        where, why = expected(side, mail, now)
        got = landed(side, mail, result)
        problems = [] if got == where else [f"landed on {result['issue'] or 'nothing'} ({got})"]
        if got in (NEW_ISSUE, LINKED_ISSUE):  # a new Issue is this mail's own, never an earlier one's
            earlier = opened_by.setdefault(result["issue"], mail["message_id"])
            if earlier != mail["message_id"]:
                problems.append(f"its new Issue {result['issue']} is the one <{earlier}> opened")
        if side == "app":
            problems.append(_decision_problem(mail, result, where))
        problems = [p for p in problems if p]
        rows.append({"side": side, "size": size, "warmup": n < warmup, "pulled": bool(result.get("pulled")),
                     "kind": mail["kind"],
                     "message_id": mail["message_id"],
                     "target": issue_name(mail["target"]) if mail["target"] is not None else None,
                     "expected": where, "why": why, "landed": got, "issue": result["issue"],
                     "problem": "; ".join(problems) or None})
    return rows


def kind_summary(rows: list[dict], kind: str) -> str:
    """``its Issue x2, linked new Issue x2``: where the timed mails of one kind landed, one a
    pull (those in pulls of several are checked with them, counted apart)."""
    counts = collections.Counter(r["landed"] for r in rows
                                 if r["kind"] == kind and not r["warmup"] and not r.get("pulled"))
    return ", ".join(f"{where} x{n}" for where, n in counts.most_common()) or "-"


def misplaced(report: dict) -> list[dict]:
    return [r for s in report["sizes"].values() for side in ("app", "stock") for r in s["landing"][side]
            if r["problem"]]


def lines(report: dict) -> list[str]:
    """The check's part of the report: each site's count, where the two differ and why, and
    every mail that went elsewhere than its system's rules say."""
    out = ["", "where the mails landed, each checked against its own system's rules (warm-up mails included):"]
    for size, s in report["sizes"].items():
        counts = {side: (sum(1 for r in s["landing"][side] if not r["problem"]), len(s["landing"][side]))
                  for side in ("app", "stock")}
        out.append(f"  {int(size):>10,} app site {counts['app'][0]} of {counts['app'][1]} where its rules and "
                   f"decisions say; stock site {counts['stock'][0]} of {counts['stock'][1]} where stock's rules say")
    differ = collections.Counter()
    for s in report["sizes"].values():
        for a, st in zip(s["landing"]["app"], s["landing"]["stock"]):
            if a["expected"] != st["expected"]:
                differ[(a["kind"], a["expected"], a["why"], st["expected"], st["why"])] += 1
    if differ:
        out.append("  where the two differ by design (mails: app | stock):")
        for (kind, a_where, a_why, s_where, s_why), n in sorted(differ.items()):
            out.append(f"    {KIND_TITLES[kind]:<22} x{n:<4} app: {a_where} ({a_why})")
            out.append(f"    {'':<22} {'':<5} stock: {s_where} ({s_why})")
    for r in misplaced(report):
        out.append(f"  MISPLACED {r['side']:<5} {int(r['size']):>7,} {KIND_TITLES[r['kind']]} <{r['message_id']}>"
                   f"{' to ' + r['target'] if r['target'] else ''}: {r['problem']}; its rules say "
                   f"{r['expected']} ({r['why']})")
    return out
