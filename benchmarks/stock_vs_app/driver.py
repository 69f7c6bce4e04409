"""The run: both sites reset, the same history written into each, the same mails through
both in turn, then the figures, the landing check and the report."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from . import KIND_TITLES, KINDS, ROOT, landing
from .history import COMMUNICATIONS_PER_ISSUE, HISTORY_DAYS, build_mails, most_mails
from .report import measure, measure_pulls, targets, write_results


class Worker:
    """One site's process (``python -m stock_vs_app worker``), spoken to in JSON lines."""

    def __init__(self, site: str, kind: str, log: Path):
        self.site, self.kind = site, kind
        self.log = open(log, "w")
        package = Path(__file__).resolve().parent
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(package.parent),
                                                                        os.environ.get("PYTHONPATH"))))}
        self.proc = subprocess.Popen([sys.executable, "-m", package.name, "worker", site, kind],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     bufsize=1, env=env)
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


def run(app_site: str, stock_site: str, results_dir: Path) -> int:
    sizes = [int(s) for s in os.environ.get("PT_BENCH_SIZES", "1000 100000").split()]
    count = int(os.environ.get("PT_BENCH_MAILS", "200"))
    warmup = int(os.environ.get("PT_BENCH_WARMUP", "8"))
    profile = int(os.environ.get("PT_BENCH_PROFILE", "1"))  # mails of each kind profiled at the end
    per_pull = int(os.environ.get("PT_BENCH_PULL", "5"))  # and, at the largest size, pulls of this many mails
    pull_mails = int(os.environ.get("PT_BENCH_PULL_MAILS", "50"))
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
        now_dt = dt.datetime.fromisoformat(now)
        done, used, report = 0, set(), {"sizes": {}}
        for size in sizes:
            t = time.perf_counter()
            gen = both(workers, "history", start=done, stop=size, now=now)
            done = size
            print(f"-- history up to {size:,} Issues ({size * COMMUNICATIONS_PER_ISSUE:,} Communications) on both "
                  f"sites: {time.perf_counter() - t:.0f} s (app site {gen[0]['seconds']} s, stock {gen[1]['seconds']} s)")
            warm = build_mails(size, warmup, used, seed=size * 10 + 1)
            avoid = used | {m["target"] for m in warm}
            fits = most_mails(size, count, avoid)
            if fits < count:
                print(f"   {size:,} history Issues take {fits} of the {count} mails (each reply to an Issue of its"
                      f" own); PT_BENCH_SIZES with a larger first size takes them all")
            mails = build_mails(size, fits, avoid, seed=size * 10)
            used |= {m["target"] for m in warm + mails if m["target"] is not None}
            received = {"app": [], "stock": []}  # (mail, result): where each landed is checked, warm-up too
            for m in warm:
                received["app"].append((m, app.call("receive", raw=m["raw"], message_id=m["message_id"])))
                received["stock"].append((m, stock.call("receive", raw=m["raw"], message_id=m["message_id"])))
            both(workers, "sql_summary")  # the warm-up mails are not counted
            t = time.perf_counter()
            per = {"app": [], "stock": []}
            for n, m in enumerate(mails):
                order = [(app, "app"), (stock, "stock")] if n % 2 == 0 else [(stock, "stock"), (app, "app")]
                for w, side in order:
                    r = w.call("receive", raw=m["raw"], message_id=m["message_id"])
                    r["kind"] = m["kind"]
                    per[side].append(r)
                    received[side].append((m, r))
                if (n + 1) % 50 == 0:
                    print(f"   {n + 1}/{len(mails)} mails received on both sites", flush=True)
            print(f"-- {len(mails)} mails through receive() on both sites at {size:,}: {time.perf_counter() - t:.0f} s")
            report["sizes"][size] = measure(per)
            report["sizes"][size]["sql"] = dict(zip(("app", "stock"), both(workers, "sql_summary")))
            if per_pull > 1 and pull_mails and size == max(sizes):
                batch = build_mails(size, most_mails(size, pull_mails, used), used, seed=size * 10 + 3)
                used |= {m["target"] for m in batch if m["target"] is not None}
                report["sizes"][size]["pulls"] = pulls(workers, batch, per_pull, received)
                both(workers, "sql_summary")  # the statements above are the one-mail pulls'
            report["sizes"][size]["landing"] = {side: landing.check(side, size, received[side], now_dt, len(warm))
                                                for side in ("app", "stock")}
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
    wrong = landing.misplaced(report)
    if wrong:
        print(f"FAILED: {len(wrong)} benchmark mails landed elsewhere than their system's rules say (MISPLACED "
              "above): the figures for them measure the wrong work", file=sys.stderr)
        return 1
    return 0


def pulls(workers, mails: list[dict], per_pull: int, received: dict) -> dict:
    """The same mails in pulls of ``per_pull`` on both sites in turn (a busier inbox, or a
    longer interval, brings several a pull): what a mail costs when what each pull does once
    (the journal's commit, the app's metadata and settings) is shared. Where each landed
    joins ``received`` (checked with the rest)."""
    app, stock = workers
    t = time.perf_counter()
    done = {"app": [], "stock": []}
    for n in range(0, len(mails), per_pull):
        group = mails[n:n + per_pull]
        order = [(app, "app"), (stock, "stock")] if (n // per_pull) % 2 == 0 else [(stock, "stock"), (app, "app")]
        for w, side in order:
            r = w.call("pull", raws=[m["raw"] for m in group], message_ids=[m["message_id"] for m in group])
            done[side].append(r)
            received[side] += [(m, {**landed, "error": r["error"], "pulled": True}) for m, landed in zip(group, r["mails"])]
    print(f"-- {len(mails)} more mails in pulls of {per_pull} on both sites: {time.perf_counter() - t:.0f} s")
    return measure_pulls(done, per_pull)


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

