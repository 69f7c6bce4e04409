"""One store routed into with one configuration: what the CLI, the demo and a replay share.

``Session.handle`` is THE code path a received mail takes outside Frappe (route, flood
guard, record, auto-reply verdict), so ``route`` and ``compare`` cannot drift apart.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from .config import Config, load_config
from .engine import decision as act
from .engine.decision import Decision
from .engine.limits import AutoReplyVerdict, apply_flood_guard, mail_time, should_auto_reply
from .engine.message import InboundMessage, parse_message
from .engine.outgoing import new_thread_root, stamp
from .engine.router import route
from .store.sqlite import SqliteStore


class Session:
    """A store, the configuration it routes with and the keyring that signs and verifies tokens.

    ``apply``: write the configuration's projects, inboxes, users and CC blocklist into the
    store; otherwise the store keeps what an earlier run configured (its blocklist holds).
    """

    def __init__(self, store: SqliteStore, config: Config | None = None, apply: bool = True):
        self.config = config or Config()
        self.store = store
        if apply:
            store.apply_config(self.config.projects, self.config.inboxes, self.config.users,
                               self.config.policy.cc_blocklist)
        else:  # the blocklist configured last holds without --config too
            self.config.policy = replace(self.config.policy, cc_blocklist=store.cc_blocklist())
        self.keyring = store.keyring(self.config.secret)

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

    def record_sent(self, message: InboundMessage, conversation: str, evidence: str,
                    at: datetime | None = None) -> Decision:
        """Store mail the helpdesk sent on ``conversation`` (not routed: we know where it
        belongs), so replies naming its Message-ID thread there."""
        decision = Decision(message.message_id, act.OUTBOUND, "outbound", evidence, conversation=conversation)
        return self.store.record(message, decision, at)


class App(Session):
    """The store, configuration and keyring one invocation (a CLI command, the demo) works with."""

    def __init__(self, db: str, config_path: str | None):
        config = load_config(config_path) if config_path else Config()
        super().__init__(SqliteStore(db), config, apply=bool(config_path))

    def process(self, raw: bytes) -> Decision:
        return self.handle(raw)[0]


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
    app.record_sent(parse_message(raw), conversation, "reply written by persona-threading reply")
    return raw
