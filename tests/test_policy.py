"""Site switches for header and Thread-Index threading (RoutingPolicy), as explain shows them."""

from conftest import attempt, fixture_bytes

from persona_threading.engine.message import parse_message
from persona_threading.engine.router import RoutingPolicy, route

TOKENS_ONLY = RoutingPolicy(header_threading=False, thread_index_threading=False)


def decide(world, name, policy, exhaustive=False):
    return route(parse_message(fixture_bytes(name)), world.store, world.keyring,
                 exhaustive=exhaustive, policy=policy)


def test_header_threading_switched_off_queues_a_reply_that_only_headers_link(world):
    d = decide(world, "in_reply_to.eml", RoutingPolicy(header_threading=False))
    assert (d.action, d.conversation) == ("queued", None)
    for rule in ("in_reply_to", "references"):
        tried = attempt(d, rule)
        assert (tried.matched, tried.evidence) == (False, "disabled by settings")
    assert decide(world, "in_reply_to.eml", RoutingPolicy()).conversation == world.a


def test_thread_index_switched_off_does_not_thread_an_outlook_reply(world):
    root = world.deliver("outlook_root.eml")
    d = decide(world, "outlook_reply.eml", RoutingPolicy(thread_index_threading=False))
    assert d.action == "new" and d.conversation != root.conversation
    assert attempt(d, "thread_index").evidence == "disabled by settings"


def test_tokens_still_thread_with_headers_switched_off(world):
    d = decide(world, "token_beats_headers.eml", TOKENS_ONLY, exhaustive=True)
    assert (d.rule, d.conversation) == ("token", world.a)
    assert [a.rule for a in d.attempts if a.evidence == "disabled by settings"] == [
        "in_reply_to", "references", "thread_index"]


def test_switches_are_on_by_default():
    assert RoutingPolicy().disabled_rules == frozenset()
    assert TOKENS_ONLY.disabled_rules == {"in_reply_to", "references", "thread_index"}
