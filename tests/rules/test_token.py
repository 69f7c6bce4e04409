from conftest import attempt


def test_subject_token_threads(world):
    d = world.deliver("token_subject.eml")
    assert (d.action, d.rule, d.conversation) == ("threaded", "token", world.a)
    assert "subject token" in d.evidence and "signature valid" in d.evidence


def test_body_token_threads_when_subject_was_edited(world):
    d = world.deliver("token_body_only.eml")
    assert (d.action, d.rule, d.conversation) == ("threaded", "token", world.a)
    assert d.evidence.startswith("body token")


def test_token_in_html_only_body(world):
    d = world.deliver("token_html_body.eml")
    assert (d.rule, d.conversation) == ("token", world.a)


def test_token_beats_headers(world):
    """Headers point to B, the verified token to A: the token wins."""
    d = world.deliver("token_beats_headers.eml")
    assert (d.rule, d.conversation) == ("token", world.a)


def test_forged_token_never_matches_and_says_so(world):
    d = world.deliver("forged_token.eml")
    assert d.conversation != world.a
    token = attempt(d, "token")
    assert token.matched is False
    assert "signature invalid" in token.evidence


def test_forged_token_falls_through_to_genuine_headers(world):
    d = world.deliver("forged_token_with_headers.eml")
    assert (d.rule, d.conversation) == ("in_reply_to", world.b)
    assert "forged" in attempt(d, "token").evidence


def test_token_signed_by_another_site_does_not_match(world):
    from persona_threading.engine.carriers import Keyring

    foreign = Keyring("another-site").token("ConvAAAAAAA")
    raw = f"From: x@y.example\nTo: support@help.example\nSubject: Re: thread::{foreign}::\n\nhi\n"
    d = world.decide(raw.encode())
    assert d.conversation is None and d.action == "queued"
    assert attempt(d, "token").matched is False
