from conftest import attempt

from persona_threading.engine.rules.prefix import find_prefix


def test_prefix_routes_case_insensitively(world):
    d = world.deliver("prefix_beta.eml")
    assert (d.action, d.rule, d.project) == ("new", "prefix", "BETA")


def test_unknown_prefix_falls_through_to_the_queue(world):
    d = world.deliver("prefix_unknown.eml")
    assert d.action == "queued"
    assert "#NOPE names no project" in attempt(d, "prefix").evidence


def test_prefix_must_open_the_subject():
    assert find_prefix("#ACME broken") == "ACME"
    assert find_prefix("Fwd: #ACME broken") == "ACME"
    assert find_prefix("broken #ACME") is None
    assert find_prefix("#1ACME") is None


def test_threading_beats_prefix(world):
    raw = b"From: a@b.example\nTo: support@help.example\nSubject: #BETA x\nIn-Reply-To: <agent-a1@help.example>\n\nx\n"
    d = world.decide(raw)
    assert (d.rule, d.conversation) == ("in_reply_to", world.a)
