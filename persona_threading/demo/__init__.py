"""``persona-threading demo``: replay a sample mailbox, answer it, and show every decision.

Part one replays ``sample.mbox`` (first contacts, a prefix, the manual queue, an
out-of-office, a re-fetched duplicate, a broken mail). Part two has an agent reply and the
customer answer it the ways real clients do (full reply, edited subject, no quote, Outlook,
a forged token), so each threading rule is shown deciding.
"""

from __future__ import annotations

import os
import tempfile
from importlib import resources

from ..session import App, build_reply
from ..sources import read_source
from ..terminal import terminal_safe
from .client import customer_reply

CUSTOMER = "alice@customer.example"
AGENT_INBOX = "acme@help.example"


def _show(title: str, decision) -> None:
    print(f"\n== {title}")
    print(terminal_safe("   " + decision.explain().replace("\n", "\n   ")))


def run_demo() -> int:
    demo_dir = resources.files(__package__)
    with tempfile.TemporaryDirectory() as tmp:
        app = App(os.path.join(tmp, "demo.sqlite3"), str(demo_dir / "config.toml"))
        print("persona-threading demo: replaying the bundled sample mailbox into", tmp)
        for mail in read_source(str(demo_dir / "sample.mbox")):
            _show(f"sample mail {mail.origin.rpartition('#')[2]}", app.process(mail.raw))

        conversation = app.store.conversations()[0]["id"]
        agent_mail = build_reply(app, conversation, AGENT_INBOX,
                                 "Sorry about that! A technician is on the way.", [], [])
        print(f"\n== agent replies on conversation {conversation} (stamped with its identifiers)")

        replies = {
            "customer replies normally (token in the subject)":
                customer_reply(agent_mail, CUSTOMER, "Thanks, still jamming though."),
            "customer edits the subject and drops headers (token in the quoted body)":
                customer_reply(agent_mail, CUSTOMER, "Any news?", subject="printer??",
                               in_reply_to=False, references=False),
            "HTML client: edited subject, visible token cut, hidden ticket tag survives":
                customer_reply(agent_mail, CUSTOMER, "Here is a photo.", subject="photo", html=True,
                               in_reply_to=False, references=False, cut_visible_token=True),
            "customer deletes the quote and edits the subject (In-Reply-To)":
                customer_reply(agent_mail, CUSTOMER, "It works now!", subject="fixed", quote=False),
            "Outlook: no quote, no In-Reply-To/References, only Thread-Index":
                customer_reply(agent_mail, CUSTOMER, "One more thing.", subject="one more thing",
                               quote=False, in_reply_to=False, references=False, thread_index=True),
        }
        for title, raw in replies.items():
            _show(title, app.process(raw))

        forged = customer_reply(agent_mail, "mallory@evil.example", "Let me in.", quote=False,
                                in_reply_to=False, references=False,
                                subject="Re: x thread::AAAAAAAAAAAAAAAAAAAAAAA::")
        _show("an outsider forges a token", app.process(forged))

        print("\n== the manual queue")
        for item in app.store.queued():
            print(terminal_safe(f"   #{item['seq']} <{item['message_id']}> {item['subject']}: {item['evidence']}"))
        print(f"\n== conversation {conversation}, as `persona-threading show {conversation}` prints it")
        for m in app.store.conversation(conversation)["messages"]:
            print(terminal_safe(f"   #{m['seq']} {m['direction']:<8} {m['rule']:<14} {m['subject']}"))
        app.store.close()
    return 0
