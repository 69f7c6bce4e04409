def test_in_reply_to_an_agent_message_threads(world):
    d = world.deliver("in_reply_to.eml")
    assert (d.action, d.rule, d.conversation) == ("threaded", "in_reply_to", world.a)


def test_in_reply_to_with_trailing_text(world):
    d = world.deliver("in_reply_to_extra_text.eml")
    assert (d.rule, d.conversation) == ("in_reply_to", world.a)


def test_in_reply_to_an_inbound_message_threads(world):
    raw = b"From: a@b.example\nTo: support@help.example\nSubject: x\nIn-Reply-To: <orig-b@customer.example>\n\nx\n"
    assert world.decide(raw).conversation == world.b


def test_unknown_in_reply_to_falls_through(world):
    raw = b"From: a@b.example\nTo: acme@help.example\nSubject: x\nIn-Reply-To: <never@seen>\n\nx\n"
    d = world.decide(raw)
    assert (d.action, d.rule) == ("new", "single_scope")
