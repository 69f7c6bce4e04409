"""The ``persona-threading`` command: replay mailboxes through the engine and explain why.

Global options come before the subcommand: ``persona-threading --db X --config Y route ...``.
Bad input ends with one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Iterator

from .config import ConfigError, load_config
from .engine import decision as act
from .engine.decision import Decision
from .engine.limits import AutoReplyVerdict
from .engine.message import InboundMessage, is_email, parse_message
from .engine.router import route
from .replay import MappingError, Replayer, message_key, oldest_first, ticket_map
from .session import App, build_reply
from .sources import RawMail, SourceError, count_messages, read_sources
from .store.sqlite import StoreError
from .terminal import terminal_safe

DEFAULT_DB = "./persona_threading.sqlite3"
SHOWN_LINES = 12  # of each message's text in `show` (--json has all of it)


class UsageError(Exception):
    """A command-line argument the command cannot use; the message says which."""


def _print_decision(decision: Decision, origin: str, as_json: bool,
                    auto_reply: AutoReplyVerdict | None = None) -> None:
    if as_json:
        shown = decision.as_dict()
        if auto_reply is not None:
            shown["auto_reply"] = auto_reply.as_dict()
        print(json.dumps(shown, ensure_ascii=False), flush=True)
    else:
        mid = f"<{decision.message_id}>" if decision.message_id else "(no Message-ID)"
        print(terminal_safe(f"{origin} {mid}\n  {decision.explain()}"), flush=True)
        if auto_reply is not None:
            print(terminal_safe(f"  [auto-reply] {'would send' if auto_reply.send else 'none'}: {auto_reply.reason}"),
                  flush=True)


class _Progress:
    """A one-line progress counter on stderr, only when stderr is a terminal."""

    def __init__(self, total: int | None):
        self.total, self.done = total, 0
        self.enabled = sys.stderr.isatty()

    def step(self) -> None:
        self.done += 1
        if self.enabled and (self.done % 25 == 0 or self.done == self.total):
            if self.total:
                filled = int(30 * self.done / self.total)
                bar = "#" * filled + "." * (30 - filled)
                sys.stderr.write(f"\r[{bar}] {self.done}/{self.total}")
            else:
                sys.stderr.write(f"\r{self.done} messages")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.done >= 25:
            sys.stderr.write("\n")


@dataclass
class _Tally:
    """What became of each input of `route` or `compare`, for the closing line on stderr."""

    done: int = 0
    skipped: int = 0
    unreadable: int = 0
    failures: int = 0

    def close(self, verb: str) -> int:
        print(f"persona-threading: {self.done} {verb}, {self.skipped} skipped (not email), {self.unreadable}"
              f" unreadable, {self.failures} not processed", file=sys.stderr)
        return 1 if self.skipped or self.unreadable or self.failures else 0

    def failed(self, origin: str, exc: Exception) -> None:
        self.failures += 1
        print(f"persona-threading: {terminal_safe(origin)}: not processed: {terminal_safe(exc)}", file=sys.stderr)


def _emails(sources: list[str], tally: _Tally, progress: _Progress | None = None
            ) -> Iterator[tuple[RawMail, InboundMessage]]:
    """Each email of the sources, parsed; an unreadable file or a non-email is reported and counted."""
    for mail in read_sources(sources):
        if progress:
            progress.step()
        if mail.unreadable:  # a file in a folder: report it, go on with the others
            tally.unreadable += 1
            print(f"persona-threading: {terminal_safe(mail.unreadable)}", file=sys.stderr)
            continue
        message = parse_message(mail.raw)
        if not is_email(message):
            tally.skipped += 1
            print(f"persona-threading: {terminal_safe(mail.origin)}: skipped: not an email message (no header fields)",
                  file=sys.stderr)
            continue
        yield mail, message


def cmd_route(app: App, args) -> int:
    db = app.store.db
    if args.dry_run:
        db.execute("BEGIN")  # every record() joins this transaction; rolled back at the end
    tally = _Tally()
    progress = _Progress(count_messages(args.sources))
    try:
        for mail, message in _emails(args.sources, tally, progress):
            try:
                decision, auto_reply = app.handle(message)
            except Exception as exc:  # keep going: one bad mail must not stop a replay
                tally.failed(mail.origin, exc)
                continue
            tally.done += 1
            _print_decision(decision, mail.origin, args.json, auto_reply)
    finally:
        progress.close()
        if args.dry_run:
            db.execute("ROLLBACK")
    return tally.close("routed")


def _read_mapping(path: str) -> dict[str, str | None]:
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read())
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from exc
    except (UnicodeDecodeError, RecursionError) as exc:
        raise UsageError(f"{path}: not JSON: {'not UTF-8 text' if isinstance(exc, UnicodeDecodeError) else 'nested too deeply'}") from exc
    try:
        return ticket_map(data)
    except MappingError as exc:
        raise UsageError(f"{path}: {exc}") from exc


def cmd_compare(args) -> int:
    """Replay the sources oldest first in a throwaway store (never --db) and compare."""
    tickets = _read_mapping(args.mapping)
    config = load_config(args.config) if args.config else None
    tally = _Tally()
    mails = oldest_first(_emails(args.sources, tally), lambda pair: pair[1].date)
    with Replayer(config) as replayer:
        for (mail, message), at in mails:
            key = message_key(message.message_id)
            try:
                replayer.feed_received(message, tickets.get(key), mail.origin, at, mapped=key in tickets)
            except Exception as exc:  # keep going, as route does
                tally.failed(mail.origin, exc)
                continue
            tally.done += 1
    report = replayer.report
    if args.csv:
        try:
            with open(args.csv, "w", newline="", encoding="utf-8") as handle:
                report.write_csv(handle)
        except OSError as exc:
            raise SourceError(f"cannot write {args.csv}: {exc.strerror}") from exc
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        print("\n".join(report.summary_lines()))
    return tally.close("replayed")


def cmd_explain(app: App, args) -> int:
    status = 0
    for mail in read_sources([args.source]):
        message = parse_message(mail.raw)
        if mail.unreadable or not is_email(message):
            why = mail.unreadable or f"{mail.origin}: skipped: not an email message (no header fields)"
            print(f"persona-threading: {terminal_safe(why)}", file=sys.stderr)
            status = 1
            continue
        decision = route(message, app.store, app.keyring, exhaustive=True, policy=app.config.policy)
        print(terminal_safe(f"{mail.origin}\n  Message-ID: {message.message_id or '(none)'}\n"
                            f"  From: {message.from_addr or '(none)'}\n  Subject: {message.subject}"))
        print(terminal_safe("  " + decision.explain()))
    return status


def _header_safe(option: str, value: str) -> str:
    """A value for an outgoing header: a line break would smuggle in headers of its own."""
    if any(c in value for c in "\r\n\x00"):
        raise UsageError(f"{option} must not contain line breaks or NUL: {value!r}")
    return value


def cmd_reply(app: App, args) -> int:
    _header_safe("--from", args.sender)
    for option, values in (("--to", args.to), ("--cc", args.cc)):
        for value in values:
            _header_safe(option, value)
    raw = build_reply(app, args.conversation, args.sender, args.body, args.to, args.cc)
    if args.out:
        try:
            with open(args.out, "wb") as handle:
                handle.write(raw)
        except OSError as exc:
            raise SourceError(f"cannot write {args.out}: {exc.strerror}") from exc
    else:
        sys.stdout.buffer.write(raw)
    return 0


_ACTIONS = {act.NEW, act.THREADED, act.QUEUED, act.IGNORED, act.DUPLICATE, act.OUTBOUND}


def cmd_show(app: App, args) -> int:
    info = app.store.conversation(args.conversation, with_text=True)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    lines = [f"Conversation {info['id']}  project={info['project'] or '-'}",
             f"  Subject: {info['subject']}",
             "  Participants: " + ", ".join(f"{p['email']} ({p['role']}{'' if p['active'] else ', inactive'})"
                                            for p in info["participants"])]
    for m in info["messages"]:
        mid = f"<{m['message_id']}>" if m["message_id"] else "(no Message-ID)"
        private = "  [private: agents only]" if m["visibility"] == "private" else ""
        lines += [f"  #{m['seq']} {m['direction']:<8} {m['rule']:<16} {m['from']}  {m['subject']}{private}",
                  f"      {mid}", f"      why: {m['evidence']}"]
        if m["warning"]:
            lines.append(f"      warning: {m['warning']}")
        text = m["text"].strip().splitlines()
        lines += [f"      | {line}" for line in text[:SHOWN_LINES]]
        if len(text) > SHOWN_LINES:
            lines.append(f"      | … {len(text) - SHOWN_LINES} more lines")
    lines += [f"  {row['at']}  {row['event']}: {row['detail']}" for row in info["audit"]
              if row["event"] not in _ACTIONS]  # decisions are shown per message above
    print(terminal_safe("\n".join(lines)))
    return 0


def cmd_list(app: App, args) -> int:
    for c in app.store.conversations():
        print(terminal_safe(f"{c['id']:>6}  {c['project'] or '-':<10} {c['messages']:>3} msg  {c['subject']}"))
    return 0


def cmd_queue(app: App, args) -> int:
    if args.queue_action == "attach":
        conversation = app.store.attach_queued(args.message, args.conversation)
        print(terminal_safe(f"attached {args.message} to conversation {conversation}"))
    elif args.queue_action == "new":
        conversation = app.store.new_from_queued(args.message, args.project)
        print(terminal_safe(f"opened conversation {conversation} from {args.message}"))
    else:
        for item in app.store.queued():
            mid = f"<{item['message_id']}>" if item["message_id"] else f"#{item['seq']}"
            print(terminal_safe(f"{item['seq']:>6}  {mid}  {item['from']}  {item['subject']}\n"
                                f"        {item['evidence']}"))
            if item["attribution"]:
                print(terminal_safe(f"        {item['attribution']}"))
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="persona-threading", description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB, help=f"SQLite store (default {DEFAULT_DB})")
    parser.add_argument("--config", help="TOML configuration: inboxes, projects, users, secret")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("route", help="route messages and store the decisions")
    p.add_argument("--json", action="store_true", help="one JSON object per message")
    p.add_argument("--dry-run", action="store_true", help="decide but store nothing")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help=".eml, mbox, Maildir, or -")
    p.set_defaults(handler=cmd_route)

    p = sub.add_parser("explain", help="every rule, in order, and why; stores nothing")
    p.add_argument("source", metavar="SOURCE")
    p.set_defaults(handler=cmd_explain)

    p = sub.add_parser("reply", help="write a reply stamped with the conversation's identifiers")
    p.add_argument("conversation")
    p.add_argument("--from", dest="sender", required=True)
    p.add_argument("--body", required=True)
    p.add_argument("--to", action="append", default=[])
    p.add_argument("--cc", action="append", default=[])
    p.add_argument("--out", help="write the message here instead of stdout")
    p.set_defaults(handler=cmd_reply)

    p = sub.add_parser("show", help="one conversation, its messages and why each landed")
    p.add_argument("conversation")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_show)

    sub.add_parser("list", help="all conversations").set_defaults(handler=cmd_list)

    p = sub.add_parser("queue", help="the manual review queue")
    p.set_defaults(handler=cmd_queue, queue_action=None)
    queue = p.add_subparsers(dest="queue_action")
    a = queue.add_parser("attach", help="attach a queued message to a conversation")
    a.add_argument("message", help="Message-ID or queue number")
    a.add_argument("conversation")
    n = queue.add_parser("new", help="open a new conversation from a queued message")
    n.add_argument("message", help="Message-ID or queue number")
    n.add_argument("--project", help="project prefix")

    p = sub.add_parser("compare", help="replay mail and compare with the tickets another system chose")
    p.add_argument("mapping", metavar="MAPPING.json", help='{"<message-id>": "<ticket>", ...}')
    p.add_argument("sources", nargs="+", metavar="SOURCE", help=".eml, mbox, Maildir, or -")
    p.add_argument("--json", action="store_true", help="one JSON object: the whole report")
    p.add_argument("--csv", metavar="OUT.csv", help="also write one row per disagreement here")
    p.set_defaults(handler=cmd_compare, opens_db=False)

    sub.add_parser("demo", help="replay a bundled sample mailbox").set_defaults(handler=cmd_demo, opens_db=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if not getattr(args, "opens_db", True):  # demo and compare work in stores of their own
            return args.handler(args)
        app = App(args.db, args.config)
        try:
            return args.handler(app, args)
        finally:
            app.store.close()
    except (ConfigError, StoreError, SourceError, UsageError) as exc:
        print(f"persona-threading: {terminal_safe(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
