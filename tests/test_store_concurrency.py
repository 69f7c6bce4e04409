"""Two `route` runs on one store, another writer holding the lock, and a run killed half way:
every mail ends with exactly one stored decision (issue 9). Nothing here times anything:
the lock holder sleeps, the tests only look at what was stored and printed."""

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time

from persona_threading.store.sqlite import SqliteStore

CONFIG = """secret = "concurrency-secret"
[[inbox]]
address = "hello@help.example"
"""


def mbox(count: int, with_ids: bool) -> bytes:
    """``count`` first contacts; every third has no Message-ID when ``with_ids``, none otherwise."""
    mails = []
    for n in range(count):
        head = f"From: customer{n}@customer.example\nTo: hello@help.example\nSubject: question {n}\n"
        if with_ids and n % 3:
            head += f"Message-ID: <q{n}@customer.example>\n"
        mails.append(f"From customer{n}@customer.example Mon Nov 16 09:00:00 2026\n{head}\nbody {n}\n")
    return "\n".join(mails).encode()


def command(tmp_path, *args):
    return [sys.executable, "-m", "persona_threading", "--db", str(tmp_path / "db.sqlite3"),
            "--config", str(tmp_path / "config.toml"), *args]


def hold_the_lock(path: str, locked, seconds: float) -> None:
    """Another writer: takes the write lock, says so, keeps it a while, then commits."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('held', 'yes')")
    locked.set()
    time.sleep(seconds)
    db.execute("COMMIT")
    db.close()


def stored_per_message(tmp_path) -> dict[str, int]:
    db = sqlite3.connect(tmp_path / "db.sqlite3")
    return dict(db.execute("SELECT message_id, COUNT(*) FROM messages GROUP BY message_id").fetchall())


def test_two_runs_and_a_lock_holder_never_fail_a_mail(tmp_path):
    (tmp_path / "config.toml").write_text(CONFIG)
    (tmp_path / "mail.mbox").write_bytes(mbox(30, with_ids=True))
    SqliteStore(str(tmp_path / "db.sqlite3")).close()  # the file exists before the writer locks it
    locked = multiprocessing.Event()
    holder = multiprocessing.Process(target=hold_the_lock, args=(str(tmp_path / "db.sqlite3"), locked, 3))
    holder.start()
    assert locked.wait(60)
    runs = [subprocess.Popen(command(tmp_path, "route", "--json", str(tmp_path / "mail.mbox")),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    holder.join()

    for run, (_, stderr) in zip(runs, outputs):
        assert run.returncode == 0, stderr.decode()
        assert b"UNIQUE constraint failed" not in stderr and b"locked" not in stderr
    stored = stored_per_message(tmp_path)
    assert len(stored) == 30 and set(stored.values()) == {1}
    actions: dict[str, list[str]] = {}
    for stdout, _ in outputs:
        for line in stdout.decode().splitlines():
            decision = json.loads(line)
            actions.setdefault(decision["message_id"], []).append(decision["action"])
    assert all(sorted(a) == ["duplicate", "new"] for a in actions.values()), actions


def test_a_rerun_after_kill_9_stores_mail_without_message_id_once(tmp_path):
    (tmp_path / "config.toml").write_text(CONFIG)
    (tmp_path / "mail.mbox").write_bytes(mbox(150, with_ids=False))
    run = subprocess.Popen(command(tmp_path, "route", "--json", str(tmp_path / "mail.mbox")),
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    for _ in range(10):  # killed while routing, after some mails were stored
        run.stdout.readline()
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    run.stdout.close()
    rerun = subprocess.run(command(tmp_path, "route", "--json", str(tmp_path / "mail.mbox")), capture_output=True)
    assert rerun.returncode == 0, rerun.stderr.decode()
    stored = stored_per_message(tmp_path)
    assert len(stored) == 150 and set(stored.values()) == {1}
    assert all(mid.endswith("@persona-threading.invalid") for mid in stored)
    again = [json.loads(line)["action"] for line in
             subprocess.run(command(tmp_path, "route", "--json", str(tmp_path / "mail.mbox")),
                            capture_output=True).stdout.decode().splitlines()]
    assert again == ["duplicate"] * 150
