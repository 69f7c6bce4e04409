from conftest import attempt


def test_hidden_tag_survives_an_edited_visible_token(world):
    d = world.deliver("ticket_tag.eml")
    assert (d.action, d.rule, d.conversation) == ("threaded", "ticket_tag", world.a)
    assert attempt(d, "token").matched is False


def test_deleting_the_quote_loses_the_tag(world):
    d = world.deliver("ticket_tag_quote_deleted.eml")
    assert d.conversation is None and d.action == "queued"
    assert attempt(d, "ticket_tag").matched is False
