"""Real-world junk parses into a usable message with defects, never an exception."""

import re

from hypothesis import given
from hypothesis import strategies as st

from persona_threading.engine.message import _header_end, parse_message


def test_in_reply_to_with_extra_text():
    m = parse_message(b"In-Reply-To: <abc@x.example>; from \"Bob\" <bob@y.example> on Monday\n\nx")
    assert m.in_reply_to[0] == "abc@x.example"


def test_bare_message_id_without_brackets():
    assert parse_message(b"Message-ID: abc@x.example\n\nx").message_id == "abc@x.example"


def test_malformed_and_missing_message_id_are_defects():
    bad = parse_message(b"Message-ID: not an id\n\nx")
    assert bad.message_id.endswith("@persona-threading.invalid")
    assert any(d.startswith("malformed Message-ID") for d in bad.defects)
    assert any(d.startswith("missing Message-ID") for d in parse_message(b"Subject: x\n\nx").defects)


def test_broken_charsets_decode_with_fallback():
    m = parse_message(
        b"Subject: =?fakescii?Q?Caf=E9?=\nFrom: =?utf-8?B?!!!?= <a@b.example>\n"
        b"Content-Type: text/plain; charset=fakescii\n\ncaf\xe9\n")
    assert "Caf" in m.subject and m.from_addr == "a@b.example"
    assert m.text_body.strip() == "caf\xe9" or m.text_body.strip() == "café"
    assert any("fakescii" in d for d in m.defects)


def test_raw_8bit_subject():
    m = parse_message("Subject: Grüße aus Köln\n\nx".encode("utf-8"))
    assert m.subject == "Grüße aus Köln"


def test_cr_only_and_crlf_line_ends():
    lf = b"From: a@b.example\nSubject: hello\nMessage-ID: <m@x>\n\nbody thread::x::\n"
    for variant in (lf.replace(b"\n", b"\r\n"), lf.replace(b"\n", b"\r")):
        m = parse_message(variant)
        assert (m.subject, m.message_id, m.from_addr) == ("hello", "m@x", "a@b.example")
        assert "body" in m.text_body


def test_html_only_body_becomes_text():
    m = parse_message(b"Content-Type: text/html\n\n<p>Hello <b>world</b></p><ul><li>one</li></ul>")
    assert "Hello **world**" in m.text and "one" in m.text


def test_folded_subject_is_unfolded():
    assert parse_message(b"Subject: a very\n long subject\n\nx").subject == "a very long subject"


def test_plus_address_keeps_case_but_domain_is_lowered():
    m = parse_message(b"To: Support+AbC@Help.Example\nFrom: Alice <Alice@Customer.Example>\n\nx")
    assert m.to == ("Support+AbC@help.example",) and m.from_addr == "alice@customer.example"


def test_absurdly_long_subject_is_cut_with_a_defect():
    m = parse_message(b"Subject: " + b"=?utf-8?q?Zypern_?= " * 20000 + b"\n\nx")
    assert 0 < len(m.subject) <= 4096
    assert any("Subject header of" in d for d in m.defects)


@given(st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b":"]), max_size=20).map(b"".join))
def test_the_header_block_ends_at_its_first_blank_line_whatever_the_line_ends(raw):
    first = re.search(rb"\r\n\r\n|\n\n|\r\r", raw)  # what the stdlib reads as a blank line
    assert _header_end(raw) == (first.end() if first else -1)


def test_a_quoted_printable_ticket_tag_is_unescaped_only_where_a_carrier_may_be():
    tagged = parse_message(b"Subject: x\n\n<span data-pt-ticket=3D\"abc\">pt-ticket:abc</span>=3D\n")
    assert tagged.body_haystack == '<span data-pt-ticket="abc">pt-ticket:abc</span>=\n'
    assert parse_message(b"Subject: x\n\n<p style=3D\"x\">thread:</p>\n").body_haystack == ""
