"""Stored history back into mail: what a replay of a helpdesk's records routes on."""

from persona_threading.engine.message import parse_message
from persona_threading.history import header_block, rebuild_message

RAW = (b"From: Ann <ann@customer.example>\r\nTo: support@help.example\r\nSubject: Re: Printer\r\n"
       b"Message-ID: <r1@customer.example>\r\nReferences: <a@help.example>\r\n <b@help.example>\r\n"
       b"Thread-Index: AQHZ\r\nContent-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\nbody\r\n--x--\r\n")


def test_the_header_block_stops_at_the_body_and_at_the_limit():
    assert header_block(RAW).endswith("Content-Type: multipart/alternative; boundary=x")
    assert "body" not in header_block(RAW)
    assert len(header_block(b"X-Junk: " + b"a" * 200_000 + b"\r\n\r\nbody", limit=1000)) == 1000


def test_a_rebuilt_mail_keeps_the_threading_headers_and_takes_the_stored_body():
    raw = rebuild_message(header_block(RAW), message_id="r1@customer.example", in_reply_to=None,
                          subject="Re: Printer", sender="ann@customer.example", recipients="support@help.example",
                          cc="", date=None, html="<p>Still broken</p>")
    message = parse_message(raw)
    assert message.references == ("a@help.example", "b@help.example")
    assert message.thread_index == "AQHZ"
    assert "Still broken" in message.text
    assert message.message_id == "r1@customer.example"


def test_without_a_header_block_the_record_fields_make_the_mail():
    raw = rebuild_message(None, message_id="r2@customer.example", in_reply_to="a@help.example",
                          subject="Re: Printer\r\nBcc: evil@x.example", sender="ann@customer.example",
                          recipients="support@help.example", cc="bob@customer.example", date=None, html="<p>Hi</p>")
    message = parse_message(raw)
    assert message.in_reply_to == ("a@help.example",)
    assert message.cc == ("bob@customer.example",)
    assert message.header("Bcc") is None  # a line break in a stored field cannot add headers
