def test_plus_addressed_recipient_threads(world):
    d = world.deliver("plus_address.eml")
    assert (d.rule, d.conversation) == ("plus_address", world.a)


def test_plus_address_also_resolves_the_inbox(world):
    """support+<token>@ is still the support inbox: an unverifiable tag queues, not 'new'."""
    d = world.decide(b"From: a@b.example\nTo: support+nottoken@help.example\nSubject: hi\n\nx\n")
    assert d.action == "queued"
