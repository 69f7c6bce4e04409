"""Each client the end-to-end loop imitates leaves the evidence its docstring names.

Checked against the engine and the SQLite store (no servers): a customer's first mail
opens a conversation, the helpdesk answers with every default carrier, and each kind of
customer answer lands back on it by the rule that kind of client relies on.
"""

import pytest

from persona_threading.cli import App, build_reply
from persona_threading.e2e import clients

INBOX = "support@help.example"
CUSTOMER = "carol@customer.example"


@pytest.fixture
def helpdesk(tmp_path):
    config = tmp_path / "help.toml"
    config.write_text(f'secret = "clients-secret"\n[[inbox]]\naddress = "{INBOX}"\n')
    app = App(str(tmp_path / "db.sqlite3"), str(config))
    yield app
    app.store.close()


@pytest.fixture
def sent(helpdesk):
    """The helpdesk's answer to a new customer mail, and the conversation it belongs to."""
    opened, _ = helpdesk.handle(clients.new_mail(CUSTOMER, INBOX, "Printer broken", "It smokes."))
    assert opened.action == "new"
    return build_reply(helpdesk, opened.conversation, INBOX, "A technician is on the way.", [], []), \
        opened.conversation


@pytest.mark.parametrize("build, rule", [
    (clients.gmail_reply, "references"),
    (clients.outlook_reply, "thread_index"),
    (clients.hidden_tag_reply, "ticket_tag"),
    (clients.headerless_reply, "token"),
])
def test_each_client_reply_threads_by_its_own_carrier(helpdesk, sent, build, rule):
    raw, conversation = sent
    decision, auto_reply = helpdesk.handle(build(raw, CUSTOMER, "Still broken."))
    assert (decision.action, decision.rule, decision.conversation) == ("threaded", rule, conversation)
    assert not auto_reply.send


def test_the_hidden_tag_reply_has_no_visible_code_and_no_threading_headers(sent):
    raw = clients.hidden_tag_reply(sent[0], CUSTOMER, "Still broken.")
    assert b"thread::" not in raw and b"In-Reply-To" not in raw and b"References" not in raw
    assert b"pt-ticket:" in raw


@pytest.mark.parametrize("keep_thread, action", [(True, "threaded"), (False, "ignored")])
def test_an_out_of_office_answer_opens_nothing_and_gets_no_auto_reply(helpdesk, sent, keep_thread, action):
    raw, conversation = sent
    decision, auto_reply = helpdesk.handle(clients.out_of_office_reply(raw, CUSTOMER, keep_thread=keep_thread))
    assert decision.action == action and decision.machine["kind"] == "auto_reply"
    assert decision.conversation == (conversation if keep_thread else None)
    assert not auto_reply.send
