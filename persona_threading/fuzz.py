"""Seeded mutation fuzzing over real mails, shared by ``make fuzz`` and tests/test_fuzz.py.

Real mails from ``../shared/corpora`` are mutated (byte flips, splices, cuts, repeated header
lines, very long lines, hostile encoded words) and each one is parsed, routed and recorded
in a SQLite store, as ``route`` does. The promise checked: no exception, exactly one
outcome per input (a stored message, a duplicate of a stored one, or a skip because the
bytes hold no header field at all), and the time of the slowest mail. Same seed, same mails.

    python -m persona_threading.fuzz [COUNT] [--seed N] [--max-bytes N]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
NOT_MAILS = {"LICENSE", "README.md", "EXPECTED.md", "COPYRIGHT", "LICENSE.txt"}
AGENT = b"agent@help.example"

#: Fragments real attackers and broken clients put in headers: bad charset labels, broken
#: encoded words, NULs, bidi controls, terminal escapes, carriers.
HOSTILE_FRAGMENTS = (
    b"=?undefined?q?hello?=", b"=?punycode?q?x?=", b"=?utf\x00-8?q?nul?=", b"=?idna?q?x?=",
    b"=?utf-7?q?+AGEA-?=", b"=?rot13?q?uryyb?=", b"=?hex?q?zz?=", b"=?base64?b?!!?=",
    b"=?utf-8?b?!!!?=", b"=?utf-8?q?=FF=FE?=", b"=?unicode-escape?q?\\x?=", b"=?zlib?q?x?=",
    b"=?utf-16?b?2D3?=", b"=?iso-2022-jp?b?GyRCJCIbKEI=?=", b"=?", b"?=", b"\x00", b"\xff\xfe",
    b"\x1b]0;owned\x07", b"\x1b[2J", b"\xe2\x80\xae", b"thread::AAAAAAAAAAAAAAAAAAAAAAA::",
    b"<a@b>", b"\r\n ", b"\n\t", b"\"", b"<", b"@", b",", b":", b";",
)
#: Header lines whose repetition hit quadratic paths (the body haystack, header decoding).
REPEATABLE_LINES = (
    b"Content-Transfer-Encoding: base64\n", b"Content-Type: text/plain\n",
    b"References: <x@y> =?utf-8?q?a?=\n", b"Received: from x by y;\n",
    b"From: a@b.example, <c@d.example>, \"x\" <e@f.example>,\n",
)
#: What a very long line or header value is built from.
LONG_PIECES = (
    b"-", b"_", b"a@b.example ", b"=?utf-8?q?x?= ", b"From: ", b"<x@y>", b"\"", b"\\", b"a",
    b"Begin forwarded message: ", b"--", b" ", b"=\n", b"thread::",
)


#: Hostile mails by size (``make bench`` times each through the engine and through Frappe's
#: receive()): each once cost quadratic time (213 s, 50 s, 12 s and 80 s at the sizes a review
#: tried; stock's HTML handling 60 s for 3 MB, its markdown of an attached text 158 s
#: for 480 KB); with the caps, cost grows linearly with size.
PATHOLOGICAL = {
    "repeated base64 header": lambda n: b"Content-Transfer-Encoding: base64\n" * (n // 34) + b"\nx\n",
    "huge From": lambda n: b"From: a" + b" " * n + b"x <a@b.example>\n\nx\n",
    "encoded-word References": lambda n: b"References: " + b"=?utf-8?q?a?= " * (n // 14) + b"\n\nx\n",
    "long forward-marker line": lambda n: (b"From: agent@help.example\n\n-- " + b" " * n + b"abc\n"
                                           b"From: x@y.example\n"),
    "HTML of unclosed tags": lambda n: (b"From: c@customer.example\nContent-Type: text/html\n\n"
                                        + b"<div><b>x" * (n // 24) + b"</i></span>" * (n // 24)),
    "<b> left open per <p>": lambda n: (b"From: c@customer.example\nContent-Type: text/html\n\n"
                                       + b"<p><b>Diagnostic information" * (n // 29)),
    "attached text of backslashes": lambda n: (b"From: c@customer.example\nContent-Type: multipart/mixed; boundary=b\n\n"
                                               b"--b\nContent-Type: message/rfc822\n\nSubject: x\n\n-" + b"\\" * n
                                               + b"\n--b--\n"),
}
PATHOLOGICAL_SIZES = (100_000, 300_000, 1_000_000)


def pathological_table(title: str, time_one) -> float:
    """Print a row per hostile mail, a column per size; ``time_one(raw) -> (seconds, mark)``.
    Returns the worst time (``make bench``: the engine alone, then Frappe's receive())."""
    print(title)
    print(f"    {'':26}" + "".join(f"{size // 1000:>9} KB" for size in PATHOLOGICAL_SIZES))
    worst = 0.0
    for name, build in PATHOLOGICAL.items():
        cells = []
        for size in PATHOLOGICAL_SIZES:
            seconds, mark = time_one(build(size))
            worst = max(worst, seconds)
            cells.append(f"{seconds * 1000:9.1f} ms{mark}")
        print(f"    {name:<26}" + "".join(cells))
    return worst


def corpus_mails(root: Path = CORPORA) -> list[bytes]:
    """Every mail file under ``root`` (sorted, so a seed means the same mails); [] when absent."""
    mails = []
    if root.is_dir():
        for folder, _, names in sorted(os.walk(root)):
            for name in sorted(names):
                if name not in NOT_MAILS:
                    mails.append(Path(folder, name).read_bytes())
    return mails


class Mutator:
    """Turns real mails into hostile ones; deterministic for a seed."""

    def __init__(self, mails: list[bytes], seed: int = 0, max_bytes: int = 256 * 1024):
        if not mails:
            raise ValueError("the mutator needs at least one mail")
        self.mails, self.rng, self.max_bytes = mails, random.Random(seed), max_bytes
        self.mutations = (self.flip, self.cut, self.insert_random, self.insert_hostile,
                          self.repeat_span, self.splice, self.repeat_header_line, self.long_line,
                          self.line_ends, self.truncate, self.from_agent)

    def next(self) -> bytes:
        raw = self.rng.choice(self.mails)
        for _ in range(self.rng.randint(1, 4)):
            raw = self.rng.choice(self.mutations)(raw)
        return raw[: self.max_bytes]

    def _at(self, raw: bytes) -> int:
        """A position, biased towards the header block where the parsing happens."""
        head = raw.find(b"\n\n")
        if head > 0 and self.rng.random() < 0.7:
            return self.rng.randint(0, head)
        return self.rng.randint(0, len(raw))

    def flip(self, raw: bytes) -> bytes:
        data = bytearray(raw)
        for _ in range(self.rng.randint(1, 8)):
            if data:
                data[self.rng.randrange(len(data))] = self.rng.randrange(256)
        return bytes(data)

    def cut(self, raw: bytes) -> bytes:
        at = self._at(raw)
        return raw[:at] + raw[at + self.rng.randint(1, 200):]

    def insert_random(self, raw: bytes) -> bytes:
        at = self._at(raw)
        return raw[:at] + self.rng.randbytes(self.rng.randint(1, 64)) + raw[at:]

    def insert_hostile(self, raw: bytes) -> bytes:
        at = self._at(raw)
        return raw[:at] + self.rng.choice(HOSTILE_FRAGMENTS) + raw[at:]

    def repeat_span(self, raw: bytes) -> bytes:
        at = self._at(raw)
        span = raw[at: at + self.rng.randint(1, 80)]
        return raw[:at] + span * self.rng.randint(2, 500) + raw[at:]

    def splice(self, raw: bytes) -> bytes:
        other = self.rng.choice(self.mails)
        return raw[: self._at(raw)] + other[self.rng.randint(0, len(other)):]

    def repeat_header_line(self, raw: bytes) -> bytes:
        line = self.rng.choice(REPEATABLE_LINES)
        budget = self.rng.randint(1, max(self.max_bytes // len(line), 1))
        return line * budget + raw

    def long_line(self, raw: bytes) -> bytes:
        piece = self.rng.choice(LONG_PIECES)
        line = piece * self.rng.randint(1, max(self.max_bytes // len(piece) // 2, 1))
        at = self._at(raw)
        return raw[:at] + line + raw[at:]

    def line_ends(self, raw: bytes) -> bytes:
        raw = raw.replace(b"\r\n", b"\n")
        return raw.replace(b"\n", self.rng.choice((b"\r\n", b"\r", b"\n\r")))

    def truncate(self, raw: bytes) -> bytes:
        return raw[: self.rng.randint(0, len(raw))]

    def from_agent(self, raw: bytes) -> bytes:
        """Sent by an internal user, so forward detection reads the (mutated) body."""
        return b"From: " + AGENT + b"\n" + raw


@dataclass
class FuzzReport:
    mails: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0  # no header field at all: not an email message
    exceptions: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # an input with no outcome
    slowest: float = 0.0
    slowest_size: int = 0
    slow: list[str] = field(default_factory=list)  # mails over ``slow_after`` seconds
    timeouts: int = 0  # mails abandoned after ``give_up_after`` seconds (counted in ``slow``)

    def summary(self) -> str:
        return (f"mails: {self.mails}  stored: {self.stored}  duplicates: {self.duplicates}  "
                f"skipped (not email): {self.skipped}  exceptions: {len(self.exceptions)}  "
                f"lost: {len(self.lost)}  slowest mail: {self.slowest:.3f} s ({self.slowest_size} bytes)"
                + (f"  abandoned (over the time limit): {self.timeouts}" if self.timeouts else ""))


class _GaveUp(BaseException):
    """Raised by the alarm in a mail that takes too long (BaseException: no rule swallows it)."""


def _give_up(signum, frame):
    raise _GaveUp()


def _fresh_store():
    from .store.sqlite import InboxConfig, ProjectConfig, SqliteStore, UserConfig

    store = SqliteStore(":memory:")
    store.apply_config([ProjectConfig("ACME"), ProjectConfig("BETA")],
                       [InboxConfig("support@help.example", ("ACME", "BETA")),
                        InboxConfig("acme@help.example", ("ACME",))],
                       [UserConfig(AGENT.decode())])
    return store


def _stored_messages(store) -> int:
    return store.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]


def fuzz(count: int, seed: int = 0, mails: list[bytes] | None = None, max_bytes: int = 256 * 1024,
         slow_after: float = 1.0, store_every: int = 500, give_up_after: float | None = None,
         progress=None) -> FuzzReport:
    """Route ``count`` mutated mails; a fresh store every ``store_every`` mails bounds memory.

    ``give_up_after`` (seconds, Unix main thread only) abandons a mail that hangs, so a run
    on code with a quadratic path still finishes; ``progress(n)`` is called every 1,000 mails.
    """
    from .engine import decision as act
    from .engine.carriers import Keyring
    from .engine.message import is_email, parse_message
    from .engine.router import route

    mutator = Mutator(mails if mails is not None else corpus_mails(), seed, max_bytes)
    keyring = Keyring("fuzz")
    report = FuzzReport()
    store = None
    alarm = give_up_after and hasattr(signal, "setitimer")
    if alarm:
        previous = signal.signal(signal.SIGALRM, _give_up)
    for n in range(count):
        if progress and n and n % 1000 == 0:
            progress(n)
        if n % store_every == 0:
            if store is not None:
                store.close()
            store = _fresh_store()
        raw = mutator.next()
        report.mails += 1
        before = _stored_messages(store)
        start = time.perf_counter()
        try:
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, give_up_after)
            message = parse_message(raw)
            if not is_email(message):
                report.skipped += 1
                outcome = "skipped"
            else:
                decision = store.record(message, route(message, store, keyring))
                message.text  # the lazy body parse (forwards, display) must hold too
                outcome = decision.action
        except _GaveUp:
            report.timeouts += 1
            store.close()
            store = _fresh_store()  # the abandoned transaction must not leak into the next mail
            continue
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            report.exceptions.append(f"mail {n}: {exc.__class__.__name__}: {str(exc)[:120]} "
                                     f"at {Path(frame.filename).name}:{frame.lineno}")
            continue
        finally:
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
            elapsed = time.perf_counter() - start
            if elapsed > report.slowest:
                report.slowest, report.slowest_size = elapsed, len(raw)
            if elapsed > slow_after:
                gave_up = " (abandoned)" if give_up_after and elapsed >= give_up_after else ""
                report.slow.append(f"mail {n} ({len(raw)} bytes): {elapsed:.2f} s{gave_up}")
        added = _stored_messages(store) - before
        if outcome == "skipped":
            ok = added == 0
        elif outcome == act.DUPLICATE:
            report.duplicates += 1
            ok = added == 0 and bool(store.messages_by_ids([message.message_id]))
        else:
            report.stored += 1
            ok = added == 1
        if not ok:
            report.lost.append(f"mail {n}: {outcome} but {added} messages stored")
    if store is not None:
        store.close()
    if alarm:
        signal.signal(signal.SIGALRM, previous)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m persona_threading.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, nargs="?", default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-bytes", type=int, default=256 * 1024)
    parser.add_argument("--give-up-after", type=float, default=60.0, help="abandon a mail after this many seconds")
    args = parser.parse_args(argv)
    mails = corpus_mails()
    if not mails:
        print(f"fuzz: no corpora at {CORPORA}; nothing to mutate", file=sys.stderr)
        return 2
    start = time.perf_counter()
    report = fuzz(args.count, args.seed, mails, args.max_bytes, give_up_after=args.give_up_after,
                  progress=lambda n: print(f"  {n} mails...", file=sys.stderr, flush=True))
    print(report.summary())
    print(f"corpus mails: {len(mails)}  seed: {args.seed}  wall time: {time.perf_counter() - start:.0f} s")
    for line in (report.exceptions + report.lost + report.slow)[:30]:
        print("  " + line)
    return 1 if report.exceptions or report.lost or report.slow else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
