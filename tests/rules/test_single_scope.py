def test_single_scope_inbox_routes_without_prefix(world):
    d = world.deliver("new_to_acme.eml")
    assert (d.action, d.rule, d.project) == ("new", "single_scope", "ACME")


def test_prefix_beats_single_scope(world):
    raw = b"From: a@b.example\nTo: acme@help.example\nSubject: #ACME x\n\nx\n"
    d = world.decide(raw)
    assert (d.rule, d.project) == ("prefix", "ACME")
