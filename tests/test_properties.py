"""Property-based: parsing and routing arbitrary bytes never raises."""

from conftest import World, configure
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persona_threading.engine.message import parse_message
from persona_threading.store.sqlite import SqliteStore

_STORE = SqliteStore(":memory:")
configure(_STORE)
_WORLD = World(_STORE)

header_names = st.sampled_from(["Subject", "From", "To", "Cc", "Message-ID", "In-Reply-To",
                                "References", "Thread-Index", "Content-Type", "Auto-Submitted",
                                "Delivered-To", "Content-Transfer-Encoding"])
header_values = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["<a@b>", "=?utf-8?B?!!?=", "=?bogus?Q?x?=", "AQHT8MGsDJq0pNzN8kqm6l56g9iVCg==",
                     "thread::AAAAAAAAAAAAAAAAAAAAAAA::", "multipart/mixed; boundary=x",
                     "support+ConvAAAAAAAj6O4LSHiLtNx@help.example", "#ACME hi", "base64"]),
)


@st.composite
def emails(draw):
    headers = draw(st.lists(st.tuples(header_names, header_values), max_size=12))
    body = draw(st.binary(max_size=500))
    eol = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    lines = [f"{n}: {v}".encode("utf-8", "surrogatepass") for n, v in headers]
    return eol.join(lines) + eol + eol + body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(raw):
    message = parse_message(raw)
    message.text  # the lazy body parse must not raise either
    _WORLD.decide(raw, exhaustive=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(emails())
def test_email_shaped_junk_never_raises(raw):
    decision = _WORLD.decide(raw)
    assert decision.action in ("new", "threaded", "queued", "ignored", "duplicate", "outbound")
    parse_message(raw).text
