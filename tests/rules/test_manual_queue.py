from conftest import fixture_bytes


def test_multi_scope_without_route_waits_in_the_queue(world):
    d = world.deliver("new_to_support.eml")
    assert (d.action, d.rule, d.conversation) == ("queued", "manual_queue", None)
    assert [q["message_id"] for q in world.store.queued()] == ["n-support@customer.example"]


def test_inbox_without_scopes_opens_a_conversation(world):
    d = world.deliver("new_to_hello.eml")
    assert (d.action, d.rule) == ("new", "new") and d.conversation


def test_unconfigured_address_opens_a_conversation(world):
    d = world.deliver(b"From: a@b.example\nTo: nobody@else.example\nSubject: x\nMessage-ID: <u@x>\n\nx\n")
    assert d.action == "new"


def test_every_rule_is_recorded_in_order(world):
    from persona_threading.engine.rules import RULE_NAMES

    d = world.deliver("new_to_support.eml")
    assert [a.rule for a in d.attempts] == list(RULE_NAMES)


def test_duplicate_is_stored_once(world):
    first = world.deliver("in_reply_to.eml")
    again = world.deliver("in_reply_to.eml")
    assert again.action == "duplicate" and again.conversation == first.conversation
    count = world.store.db.execute("SELECT COUNT(*) FROM messages WHERE message_id = 'r-irt@customer.example'")
    assert count.fetchone()[0] == 1


def test_mail_without_message_id_is_stored_once_and_other_such_mail_is_its_own(world):
    """A re-run after a crash must not store it again; another mail without an id is not it."""
    one, two = world.deliver("no_message_id.eml"), world.deliver("no_message_id.eml")
    assert one.message_id.endswith("@persona-threading.invalid")
    assert (two.action, two.conversation) == ("duplicate", one.conversation)
    other = world.deliver(fixture_bytes("no_message_id.eml").replace(b"No Message-ID.", b"Another one."))
    assert other.action == "new" and other.conversation != one.conversation


def test_auto_reply_threads_nowhere_and_opens_nothing(world):
    d = world.deliver("out_of_office.eml")
    assert (d.action, d.rule, d.conversation) == ("ignored", "auto_reply", None)
    assert world.store.queued() == []
