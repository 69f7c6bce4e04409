import math

from persona_threading.engine.carriers import (ALPHABET, KEY_LENGTH, MAC_LENGTH, TOKEN_LENGTH,
                                               Keyring)
from persona_threading.engine.message import parse_message
from persona_threading.engine.outgoing import Carriers, stamp, strip_carriers


def test_token_shape_and_strength():
    ring = Keyring("s")
    token = ring.token(ring.mint_key())
    assert len(token) == TOKEN_LENGTH == 23 and all(c in ALPHABET for c in token)
    assert MAC_LENGTH * math.log2(62) >= 64 and KEY_LENGTH * math.log2(62) >= 64


def test_every_single_character_change_is_rejected():
    ring = Keyring("s")
    token = ring.token("ConvAAAAAAA")
    assert ring.verify(token).ok
    for i in range(TOKEN_LENGTH):
        swapped = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        assert not ring.verify(swapped).ok


def test_rotated_secret_still_verifies_old_tokens():
    old = Keyring("old").token("ConvAAAAAAA")
    assert Keyring("new", "old").verify(old).ok
    assert not Keyring("new").verify(old).ok


def test_long_subject_is_cut_but_token_kept():
    ring = Keyring("s")
    out = stamp(key="ConvAAAAAAA", keyring=ring, subject="Ü" * 300, text="hi")
    assert len(out.subject) <= 128 and out.subject.endswith(f"thread::{ring.token('ConvAAAAAAA')}::")


def test_restamping_does_not_pile_up_tokens_or_prefixes():
    ring = Keyring("s")
    first = stamp(key="ConvAAAAAAA", keyring=ring, subject="Printer", text="a")
    second = stamp(key="ConvAAAAAAA", keyring=ring, subject="RE: " + first.subject, text="b")
    assert second.subject == first.subject and second.subject.startswith("Re: Printer thread::")


def test_carriers_follow_settings():
    ring = Keyring("s")
    token = ring.token("ConvAAAAAAA")
    none = stamp(key="ConvAAAAAAA", keyring=ring, subject="x", text="t", reply_to="s@h.example",
                 use=Carriers(False, False, False, False, False))
    assert token not in none.subject + none.text + none.html and "Reply-To" not in none.headers
    every = stamp(key="ConvAAAAAAA", keyring=ring, subject="x", text="t", reply_to="s@h.example",
                  use=Carriers(True, True, True, True, True))
    assert f"[ID-{token}]" in every.subject and f"pt-ticket:{token}" in every.html
    assert every.headers["Reply-To"] == f"s+{token}@h.example"


def test_html_body_is_escaped():
    out = stamp(key="ConvAAAAAAA", keyring=Keyring("s"), subject="x", text="<script>x</script>")
    assert "<script>" not in out.html
    assert parse_message(b"\n\n").text == ""


def test_strip_carriers_removes_everything_stamp_adds():
    ring = Keyring("s")
    token = ring.token("ConvAAAAAAA")
    stamped = stamp(key="ConvAAAAAAA", keyring=ring, subject="Printer broken", text="On it.\nBob",
                    use=Carriers(True, True, True, True, True))
    assert token in stamped.subject and token in stamped.text and token in stamped.html
    shown = strip_carriers(stamped.subject, stamped.text, stamped.html)
    assert shown == ("Re: Printer broken", "On it.\nBob", "<div>On it.<br>\nBob</div>")
    subject, text, html = strip_carriers(stamped.subject)
    assert (subject, text, html) == ("Re: Printer broken", "", "")


def test_strip_carriers_keeps_what_people_wrote():
    written = "Use thread:: notation and [ID-7] tags as you like.\n\n[see attached]"
    assert strip_carriers("Re: [ID-7] thread::x::", written, "<p>[ID-7]</p>") == (
        "Re: [ID-7] thread::x::", written, "<p>[ID-7]</p>")


def test_strip_carriers_removes_tokens_a_client_quoted():
    token = Keyring("s").token("ConvAAAAAAA")
    quoted = f"Thanks!\n\n> On it.\n> [thread::{token}::]\n"
    assert strip_carriers(f"RE: Re: Printer [ID-{token}] thread::{token}::", quoted).text == "Thanks!\n\n> On it.\n>"
