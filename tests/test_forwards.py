"""Agent forwards: detection on real clients' forwards, and attribution that cannot be spoofed."""

import os
from email.message import EmailMessage

import pytest
from conftest import CORPORA

from persona_threading.engine.forwards import attribute, find_forward
from persona_threading.engine.message import parse_message

FIXTURES = CORPORA / "email-forward-parser-fixtures" / "fixtures"
JOHN = "john.doe@acme.com"  # the original sender of every forward in the corpus but one
NAMELESS = "unknown_en_body_variant_12.txt"  # "From: John Doe" without an address
# Forwards that carry no marker line, so they read as the agent's own mail: New Outlook and
# Outlook 2013 write only the original's header block, Outlook for Mac only "On <date>,
# <sender> wrote:". Text typed above an "On ... wrote:" line (variant_4) reads as a reply.
UNMARKED_CLIENTS = ("new_outlook_2019_", "outlook_2019_")
UNMARKED = {"outlook_2013_en_body.txt", "outlook_live_en_body_variant_10.txt",
            "hubspot_en_body_variant_4.txt", "mailmate_en_body_variant_4.txt",
            "thunderbird_en_body_variant_4.txt", "apple_mail_en_body_variant_4.txt",
            "gmail_en_body_variant_4.txt", "missive_en_body_variant_4.txt",
            "yahoo_en_body_variant_4.txt"}
#: Forwards in the corpus found with their original sender: 137 of the 186 that name one
#: (180 before issue 8, which stopped guessing forwards from header blocks and "wrote:" lines).
FOUND_WITH_SENDER = 137
needs_corpus = pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"forward fixtures not found at {FIXTURES}")


MARKED_INSIDE = {"new_outlook_2019_en_body_variant_15.txt"}  # a Gmail marker further down


def unmarked(name: str) -> bool:
    return name in UNMARKED or (name.startswith(UNMARKED_CLIENTS) and name not in MARKED_INSIDE)


@needs_corpus
def test_real_forwards_with_a_marker_name_the_original_sender_in_every_client_and_language():
    found = {name: find_forward((FIXTURES / name).read_text(encoding="utf-8", errors="replace"))
             for name in sorted(os.listdir(FIXTURES)) if "body" in name}
    wrong_sender = [(n, f) for n, f in found.items() if f and f.sender != JOHN and n != NAMELESS]
    marked_but_missed = [n for n, f in found.items() if f is None and not unmarked(n) and n != NAMELESS]
    unmarked_but_unwrapped = [n for n, f in found.items() if f is not None and unmarked(n)]
    assert (wrong_sender, marked_but_missed, unmarked_but_unwrapped) == ([], [], [])
    assert sum(1 for f in found.values() if f and f.sender == JOHN) == FOUND_WITH_SENDER


@needs_corpus
def test_replies_are_not_unwrapped():
    for name in ("hubspot_en_body_variant_4.txt", "mailmate_en_body_variant_4.txt",
                 "thunderbird_en_body_variant_4.txt", "gmail_en_body_variant_4.txt"):
        assert find_forward((FIXTURES / name).read_text(encoding="utf-8")) is None, name


@needs_corpus
def test_forward_without_an_address_is_detected_but_names_nobody():
    found = find_forward((FIXTURES / NAMELESS).read_text(encoding="utf-8"))
    assert found is not None and found.sender is None


def test_the_three_classic_markers():
    for marker in ("Begin forwarded message:", "---------- Forwarded message ---------",
                   "-----Original Message-----"):
        text = f"FYI\n\n{marker}\n\nFrom: Jane Roe <jane@client.example>\nSubject: help\n\nbody"
        assert find_forward(text).sender == "jane@client.example", marker


def test_an_agents_own_note_naming_a_colleague_is_not_a_forward():
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "agent@help.example", "support@help.example", "#ACME VPN"
    mail.set_content("Please loop in colleague@help.example on this:\n\nthe VPN drops every hour.\n")
    who = attribute(parse_message(mail.as_bytes()), Users("agent@help.example", "colleague@help.example"))
    assert (who.submitted_by, who.assigned_to, who.forwarded) == ("agent@help.example", None, False)


def test_quoted_headers_without_a_forward_marker_are_not_a_forward():
    text = ("Can you check what this customer wants?\n\nFrom: Jane Roe <jane@client.example>\n"
            "Subject: help\n\nbody")
    assert find_forward(text) is None
    assert find_forward("Begin forwarded message:\n\n" + text.split("\n\n", 1)[1]).sender == "jane@client.example"


def test_a_from_word_in_prose_after_a_marker_is_not_the_original_sender():
    text = "---------- Forwarded message ---------\nI got this from: bob@x.example\nFrom: Jane <jane@client.example>\n"
    assert find_forward(text).sender == "jane@client.example"


class Users:
    """A Lookup stand-in for the one question attribution asks (pure code under test)."""

    def __init__(self, *active):
        self.active = set(active)

    def is_active_user(self, address):
        return address in self.active


def forwarded(outer: str, inner: str, attach: bool = False) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = outer, "support@help.example", "#ACME Fwd: help"
    if attach:
        original = EmailMessage()
        original["From"], original["Subject"] = inner, "help"
        original.set_content("please help")
        mail.set_content("see attached")
        mail.add_attachment(original)
    else:
        mail.set_content(f"FYI\n\n---------- Forwarded message ---------\nFrom: X <{inner}>\n"
                         f"Subject: help\n\nplease help")
    return mail.as_bytes()


def test_agent_forwarding_a_colleague_makes_the_colleague_the_requester():
    who = attribute(parse_message(forwarded("agent@help.example", "colleague@help.example")),
                    Users("agent@help.example", "colleague@help.example"))
    assert (who.submitted_by, who.assigned_to) == ("colleague@help.example", "agent@help.example")
    assert "on behalf of colleague@help.example" in who.evidence


def test_external_inner_sender_needs_the_setting():
    message = parse_message(forwarded("agent@help.example", "client@outside.example"))
    users = Users("agent@help.example")
    assert attribute(message, users).submitted_by == "agent@help.example"
    allowed = attribute(message, users, external_requesters=True)
    assert (allowed.submitted_by, allowed.assigned_to) == ("client@outside.example", "agent@help.example")


def test_forward_attached_as_message_rfc822():
    who = attribute(parse_message(forwarded("agent@help.example", "colleague@help.example", attach=True)),
                    Users("agent@help.example", "colleague@help.example"))
    assert who.submitted_by == "colleague@help.example" and "attached message" in who.evidence


def test_outsider_cannot_spoof_a_forward_to_impersonate_an_agent():
    who = attribute(parse_message(forwarded("mallory@evil.example", "agent@help.example")),
                    Users("agent@help.example"))
    assert (who.submitted_by, who.assigned_to) == ("mallory@evil.example", None)
    assert "not trusted" in who.evidence


def test_inactive_agent_is_not_trusted():
    who = attribute(parse_message(forwarded("former@help.example", "agent@help.example")),
                    Users("agent@help.example"))
    assert who.submitted_by == "former@help.example"


def test_prefix_on_the_outer_subject_still_routes_a_forward(world):
    raw = forwarded("agent@help.example", "client@outside.example").replace(b"#ACME Fwd", b"#BETA Fwd")
    decision = world.deliver(raw)
    assert (decision.action, decision.rule, decision.project) == ("new", "prefix", "BETA")
    assert decision.submitted_by == "agent@help.example"
