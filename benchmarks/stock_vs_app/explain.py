"""EXPLAIN of the captured queries, run on the app site at the largest history: every
FrappeLookup statement must read through an index."""

from __future__ import annotations

import re

def explain(captured: dict[str, dict]) -> list[dict]:
    """EXPLAIN every captured query (the lookup's, and the records' reads), with a verdict."""
    import frappe

    out = []
    for entry in sorted(captured.values(), key=lambda e: (e["kind"] != "lookup", e["method"])):
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
