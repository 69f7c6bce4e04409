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


def _encoded_reply(world, cte):
    from email.message import EmailMessage

    token = world.keyring.token("ConvAAAAAAA")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "a@customer.example", "support@help.example", "edited"
    mail.set_content("Grüße! " * 30 + f"\n> quoted thread::{token}:: " + "é" * 80, cte=cte)
    mail.add_alternative(f"<p>Grüße</p><blockquote>{'é' * 50} thread::{token}::</blockquote>",
                         subtype="html", cte=cte)
    return mail.as_bytes()


def test_token_in_base64_encoded_body(world):
    raw = _encoded_reply(world, "base64")
    assert b"thread::" not in raw  # really hidden by the encoding
    assert world.decide(raw).conversation == world.a


def test_token_in_quoted_printable_body_with_soft_breaks(world):
    token = world.keyring.token("ConvAAAAAAA")
    raw = (b"From: a@b.example\nTo: support@help.example\nSubject: x\nMIME-Version: 1.0\n"
           b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
           b"Caf=C3=A9 thread::" + token[:10].encode() + b"=\n" + token[10:].encode() + b"::\n")
    assert world.decide(raw).conversation == world.a


def test_token_in_a_base64_attachment_is_not_a_carrier(world):
    import base64

    token = world.keyring.token("ConvAAAAAAA")
    blob = base64.encodebytes(f"thread::{token}::".encode() * 3)
    raw = (b"From: a@b.example\nTo: support@help.example\nSubject: x\nMIME-Version: 1.0\n"
           b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nhi\n'
           b"--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
           + blob + b"--b--\n")
    assert world.decide(raw).action == "queued"
