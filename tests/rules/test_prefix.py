from conftest import attempt

from persona_threading.engine.message import parse_message
from persona_threading.engine.router import RoutingPolicy, route
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
    assert find_prefix("Fwd: #ACME broken") is None
    assert find_prefix("Fwd: #ACME broken", after_reply_markers=True) == "ACME"
    assert find_prefix("broken #ACME") is None
    assert find_prefix("#1ACME") is None


def test_threading_beats_prefix(world):
    raw = b"From: a@b.example\nTo: support@help.example\nSubject: #BETA x\nIn-Reply-To: <agent-a1@help.example>\n\nx\n"
    d = world.decide(raw)
    assert (d.rule, d.conversation) == ("in_reply_to", world.a)


REPLY_WITH_PREFIX = (b"From: a@b.example\nTo: support@help.example\nSubject: Re: #BETA invoice\n"
                     b"Message-ID: <re-beta@b.example>\n\nsee below\n")


def test_prefix_after_re_does_not_route_by_default(world):
    d = world.decide(REPLY_WITH_PREFIX)
    assert (d.action, d.project) == ("queued", None)
    assert "not at the start of the subject" in attempt(d, "prefix").evidence


def test_lenient_prefix_is_a_setting_and_the_evidence_names_the_form(world):
    lenient = RoutingPolicy(prefix_after_reply_markers=True)
    d = route(parse_message(REPLY_WITH_PREFIX), world.store, world.keyring, policy=lenient)
    assert (d.action, d.rule, d.project) == ("new", "prefix", "BETA")
    assert "after reply markers 'Re:'" in d.evidence
    anchored = world.decide("prefix_beta.eml")
    assert "at the start of the subject" in anchored.evidence
