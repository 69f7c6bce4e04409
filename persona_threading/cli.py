"""The ``persona-threading`` command: replay mailboxes through the engine and explain why.

Global options come before the subcommand: ``persona-threading --db X --config Y route ...``.
Bad input ends with one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import replace
from email.message import EmailMessage
from email.policy import SMTP
from datetime import datetime, timezone
from email.utils import formatdate, make_msgid

from .config import Config, ConfigError, load_config
from .engine import decision as act
from .engine.decision import Decision
from .engine.limits import AutoReplyVerdict, apply_flood_guard, mail_time, should_auto_reply
from .engine.message import InboundMessage, is_email, parse_message
from .engine.outgoing import new_thread_root, stamp
from .engine.router import route
from .sources import SourceError, count_messages, read_sources
from .store.sqlite import SqliteStore, StoreError

DEFAULT_DB = "./persona_threading.sqlite3"
SHOWN_LINES = 12  # of each message's text in `show` (--json has all of it)

# C0 controls but tab and newline, DEL, C1 controls, bidi marks/embeddings/overrides/isolates,
# and lone surrogates (undecodable bytes of a file name).
_UNSAFE_FOR_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                                  "\u2066-\u2069\ud800-\udfff]")


def terminal_safe(text: object) -> str:
    """Mail-derived text made harmless for a terminal: escapes (ANSI/OSC), other controls and
    bidi overrides become visible escapes (``\\x1b``), so a subject cannot rewrite the
    agent's screen or reorder what it shows. For human output only; JSON stays exact."""
    return _UNSAFE_FOR_TERMINAL.sub(_escape_char, str(text))


def _escape_char(found: re.Match) -> str:
    code = ord(found.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


class UsageError(Exception):
    """A command-line argument the command cannot use; the message says which."""


class App:
    """The store, configuration and keyring one invocation works with."""

    def __init__(self, db: str, config_path: str | None):
        self.config = load_config(config_path) if config_path else Config()
        self.store = SqliteStore(db)
        if config_path:
            self.store.apply_config(self.config.projects, self.config.inboxes, self.config.users,
                                    self.config.policy.cc_blocklist)
        else:  # the blocklist configured last holds without --config too
            self.config.policy = replace(self.config.policy, cc_blocklist=self.store.cc_blocklist())
        self.keyring = self.store.keyring(self.config.secret)

    def process(self, raw: bytes) -> Decision:
        return self.handle(raw)[0]

    def handle(self, mail: bytes | InboundMessage,
               fetched_at: datetime | None = None) -> tuple[Decision, AutoReplyVerdict]:
        """Route, flood-guard and store one mail; say whether an automatic reply would go out.

        Windows count on each mail's own time (its Date, never later than the fetch), so a
        replayed export is judged as it arrived, not as if everything came in at once.
        """
        message = mail if isinstance(mail, InboundMessage) else parse_message(mail)
        fetched_at = fetched_at or datetime.now(timezone.utc)
        at = mail_time(message.date, fetched_at)
        decision = route(message, self.store, self.keyring, policy=self.config.policy)
        apply_flood_guard(decision, message.from_addr, self.store, at, self.config.flood_guard)
        self.store.record(message, decision, at)
        verdict = should_auto_reply(message, decision, self.store, at, self.config.auto_reply,
                                    self.config.flood_guard, fetched_at)
        if decision.action == act.NEW:  # only these may be answered: audit sent or suppressed
            self.store.record_auto_reply(decision.conversation, message.from_addr, verdict.send, verdict.reason, at)
        return decision, verdict


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


def cmd_route(app: App, args) -> int:
    db = app.store.db
    if args.dry_run:
        db.execute("BEGIN")  # every record() joins this transaction; rolled back at the end
    routed = skipped = unreadable = failures = 0
    progress = _Progress(count_messages(args.sources))
    try:
        for mail in read_sources(args.sources):
            progress.step()
            origin = terminal_safe(mail.origin)
            if mail.unreadable:  # a file in a folder: report it, route the others
                unreadable += 1
                print(f"persona-threading: {terminal_safe(mail.unreadable)}", file=sys.stderr)
                continue
            message = parse_message(mail.raw)
            if not is_email(message):
                skipped += 1
                print(f"persona-threading: {origin}: skipped: not an email message (no header fields)",
                      file=sys.stderr)
                continue
            try:
                decision, auto_reply = app.handle(message)
            except Exception as exc:  # keep going: one bad mail must not stop a replay
                failures += 1
                print(f"persona-threading: {origin}: not processed: {terminal_safe(exc)}", file=sys.stderr)
                continue
            routed += 1
            _print_decision(decision, mail.origin, args.json, auto_reply)
    finally:
        progress.close()
        if args.dry_run:
            db.execute("ROLLBACK")
    print(f"persona-threading: {routed} routed, {skipped} skipped (not email), {unreadable} unreadable, "
          f"{failures} not processed", file=sys.stderr)
    return 1 if skipped or unreadable or failures else 0


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


def build_reply(app: App, conversation: str, sender: str, body: str, to: list[str],
                cc: list[str]) -> bytes:
    """An RFC 5322 reply stamped with the conversation's identifiers, recorded as outbound."""
    state = app.store.thread_state(conversation)
    root = state["thread_root"] or app.store.ensure_thread_root(conversation, new_thread_root())
    if not to:  # a public reply: the requester in To and (unless --cc says) the active CCs in Cc
        to, cc = ([state["requester"]] if state["requester"] else []), cc or state["cc"]
    stamped = stamp(key=state["key"], keyring=app.keyring, subject=state["subject"], text=body,
                    in_reply_to=state["in_reply_to"], references=state["references"],
                    thread_root=root, reply_to=sender, use=app.config.carriers)
    mail = EmailMessage(policy=SMTP)
    mail["From"] = sender
    if to:
        mail["To"] = ", ".join(to)
    if cc:
        mail["Cc"] = ", ".join(cc)
    mail["Subject"] = stamped.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    for name, value in stamped.headers.items():
        mail[name] = value
    mail.set_content(stamped.text)
    mail.add_alternative(stamped.html, subtype="html")
    raw = mail.as_bytes()
    message = parse_message(raw)
    decision = Decision(message.message_id, act.OUTBOUND, "outbound",
                        "reply written by persona-threading reply", conversation=conversation)
    app.store.record(message, decision)
    return raw


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

    sub.add_parser("demo", help="replay a bundled sample mailbox").set_defaults(handler=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            return cmd_demo(args)
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
