"""Figures from the per-mail results (medians, the app's own share, targets) and the report:
the printed table, results.md / results.json and the plot."""

from __future__ import annotations

import collections
import json
import statistics
from pathlib import Path

from . import KIND_TITLES, KINDS, landing

TARGET_GROWTH, TARGET_SPEEDUP, TARGET_SHARE = 1.1, 5.0, 0.10


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
            "errors": sum(1 for r in results if r["error"])}


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
                "by_category_ms_per_mail": {c: v / len(app) * 1000 for c, v in by_cat.items()},
                "stock_inside_ms_per_mail": sum(r.get("stock_inside", 0.0) for r in app) / len(app) * 1000},
        "kinds": kinds, "first_errors": errors,
        "samples_ms": {"app": [r["seconds"] * 1000 for r in app], "stock": [r["seconds"] * 1000 for r in stock]},
    }


def measure_pulls(done: dict, per_pull: int) -> dict:
    """Pulls of several mails: the median cost a mail (a pull's cost over its mails) on each
    site, and the app's own work a mail and its share."""
    app, stock = done["app"], done["stock"]
    mails = sum(len(r["mails"]) for r in app)
    own = sum(sum(r["own"].values()) for r in app)
    return {"mails_per_pull": per_pull, "pulls": len(app), "mails": mails,
            "app_ms_per_mail": statistics.median(r["seconds"] / len(r["mails"]) for r in app) * 1000,
            "stock_ms_per_mail": statistics.median(r["seconds"] / len(r["mails"]) for r in stock) * 1000,
            "own_ms_per_mail": own / mails * 1000, "own_share": own / sum(r["seconds"] for r in app),
            "errors": [r["error"] for r in app + stock if r["error"]][:3]}


def targets(report, sizes):
    s = report["sizes"]
    lo, hi = min(sizes), max(sizes)
    out = []
    if lo != hi:
        growth = s[hi]["app"]["median_ms"] / s[lo]["app"]["median_ms"]
        out.append({"target": f"app cost at {hi:,} <= {TARGET_GROWTH}x its cost at {lo:,}",
                    "value": f"{growth:.2f}x", "met": growth <= TARGET_GROWTH})
    small = s[lo]["app"]["median_ms"] / s[lo]["stock"]["median_ms"]  # most helpdesks are small
    out.append({"target": f"at {lo:,} the app costs at most what stock does", "value": f"{small:.2f}x stock's",
                "met": small <= 1.0})
    if lo != hi:  # the large-history target needs a large history beside the small one
        speedup = s[hi]["stock"]["median_ms"] / s[hi]["app"]["median_ms"]
        out.append({"target": f"at {hi:,} the app at least {TARGET_SPEEDUP:.0f}x faster than stock",
                    "value": f"{speedup:.2f}x", "met": speedup >= TARGET_SPEEDUP})
    worst = max(s[n]["own"]["share"] for n in sizes)
    out.append({"target": f"the app's own work under {TARGET_SHARE:.0%} of the per-mail cost",
                "value": f"{worst:.1%} (worst size)", "met": worst < TARGET_SHARE})
    wrong = landing.misplaced(report)
    if wrong:  # a speed figure for mail that went to the wrong place means nothing
        for target in out:
            target.update(met=False, value=f"{target['value']}, not measured: {len(wrong)} mails landed elsewhere")
    fails = [e for e in report["explain"] if e["kind"] == "lookup" and e["verdict"] != "OK"]
    out.append({"target": "every FrappeLookup query uses an index", "value": f"{len(fails)} not",
                "met": not fails})
    return out


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
    lines.append("  not counted as the app's: what stock's receive() reads itself, read first inside the app's code"
                 " (stock DocTypes' metadata; the document an In-Reply-To reply names, which stock's reference_document() loads)"
                 " (mean, ms): " + "; ".join(
                     f"{int(size):,}: {r['own'].get('stock_inside_ms_per_mail', 0.0):.1f}" for size, r in s.items()))
    for size, r in s.items():
        p = r.get("pulls")
        if p:
            lines.append(f"  in pulls of {p['mails_per_pull']} mails ({p['mails']} more mails at {int(size):,}; what a pull"
                         f" does once shared by its mails): app {p['app_ms_per_mail']:.1f} ms a mail, stock"
                         f" {p['stock_ms_per_mail']:.1f} ms; the app's own work {p['own_ms_per_mail']:.1f} ms a mail"
                         f" = {p['own_share']:.1%} (the targets read one-mail pulls)")
    lines += ["", "by kind of mail (median ms app / stock; where they landed on each site, checked below;"
              " the app's decisions):"]
    for size, r in s.items():
        for kind, k in r["kinds"].items():
            lines.append(f"  {int(size):>10,} {KIND_TITLES[kind]:<24} {k['app']['median_ms']:7.1f} / "
                         f"{k['stock']['median_ms']:7.1f}   app: {landing.kind_summary(r['landing']['app'], kind)}"
                         f" | stock: {landing.kind_summary(r['landing']['stock'], kind)}   app decided: "
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
    lines += landing.lines(report)
    lines += ["", "targets:"]
    for t in report["targets"]:
        lines.append(f"  {'MET    ' if t['met'] else 'NOT MET'}  {t['target']}: {t['value']}")
    lines.append(f"(whole run: {report['seconds']} s; `make bench` exits 0 whether the targets are met or not, "
                 "1 when a mail landed elsewhere than its system's rules say)")
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

