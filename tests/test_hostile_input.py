"""Hostile input: every byte string ends in one decision, and the work per mail is bounded.

Each test is a crafted mail from issue 9 that raised or ran quadratically. No test times
anything: they check the caps and the defects that say a cap was applied (``make bench``
shows the timings, ``make fuzz`` the slowest mail).
"""

import base64

import pytest
from conftest import KEY_A

from persona_threading.engine import forwards
from persona_threading.engine.carriers import thread_token
from persona_threading.engine.message import parse_message

HEAD = b"From: alice@customer.example\nTo: support@help.example\nMessage-ID: <hostile@x.example>\n"


@pytest.mark.parametrize("charset", [b"undefined", b"punycode", b"utf\x00-8", b"idna", b"zlib"])
def test_bad_charset_label_in_an_encoded_word_is_a_defect(world, charset):
    raw = HEAD + b"Subject: =?" + charset + b"?q?hello?=\n\nhi\n"
    decision = world.deliver(raw)
    assert decision.action == "queued"
    assert any("charset" in d for d in decision.defects), decision.defects


def test_every_header_value_is_capped_before_it_is_decoded():
    huge = b"=?utf-8?q?a?= " * 100_000  # 1.4 MB of encoded words
    raw = (HEAD + b"Date: " + huge + b"\nContent-Type: text/plain; x=" + huge
           + b"\nReferences: " + huge + b"<newest@x.example>\n\nhi\n")
    message = parse_message(raw)
    assert any(d.startswith("Date header of") for d in message.defects)
    assert any(d.startswith("Content-Type header of") for d in message.defects)
    assert len(message.date) <= 4096
    assert any(d.startswith("References header of") and "kept the last" in d for d in message.defects)
    assert message.references == ("newest@x.example",)  # the end, where the newest id is, is kept


def test_a_huge_from_is_capped_before_the_address_regex():
    raw = b"From: a" + b" " * 80_000 + b"x <alice@customer.example>\nMessage-ID: <m@x>\n\nhi\n"
    message = parse_message(raw)
    assert any(d.startswith("From header of 80") for d in message.defects)
    assert message.from_addr == ""  # the address sat beyond the cap


def test_addresses_are_read_up_to_one_budget_over_repeated_headers():
    line = b'To: "x" <a@b.example>, c@d.example, <e@f.example>\n'
    message = parse_message(HEAD + line * 20_000 + b"\nhi\n")
    assert any("addresses; the rest is not read" in d for d in message.defects)
    assert len(message.to) < 1000


@pytest.mark.parametrize("value, expected", [
    ('"Doe, Jane" <jane@x.example>', [("Doe, Jane", "jane@x.example")]),
    ("Jane Doe   <jane@x.example>", [("Jane Doe", "jane@x.example")]),
    ("<jane@x.example>", [("", "jane@x.example")]),
    ("jane@x.example, bob@y.example", [("", "jane@x.example"), ("", "bob@y.example")]),
    ('"a\\"b" <q@x.example>', [('a"b', "q@x.example")]),
])
def test_the_linear_address_fast_path_agrees_with_getaddresses(value, expected):
    message = parse_message(f"From: x@y.example\nTo: {value}\n\nhi\n".encode())
    assert list(message.to) == [a for _, a in expected]


def test_repeated_base64_headers_are_looked_at_a_bounded_number_of_times():
    raw = HEAD + b"Subject: x\n" + b"Content-Transfer-Encoding: base64\n" * 30_000 + b"\nhi\n"
    message = parse_message(raw)
    assert message.body_haystack == ""
    assert any("base64 header lines; later ones not searched" in d for d in message.defects)


def test_a_token_in_a_base64_text_part_still_threads(world):
    token = world.keyring.token(KEY_A)
    part = base64.encodebytes(f"Thanks!\n\n> {thread_token(token)}\n".encode())
    raw = (HEAD + b"Subject: edited\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
           b"--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
           + part + b"--b--\n")
    decision = world.decide(raw)
    assert (decision.action, decision.rule, decision.conversation) == ("threaded", "token", world.a)


def test_forward_scanning_reads_capped_lines():
    marker = "---------- Forwarded message ---------\n"
    found = forwards.find_forward(marker + "From: Bob <bob@x.example>\n")
    assert found is not None and found.sender == "bob@x.example"
    padded = forwards.find_forward(marker + "From: " + "x" * 998 + " <bob@x.example>\n")
    assert padded is not None and padded.sender is None  # the address sat beyond the line cap


