"""Agent forwards: detection on real clients' forwards, and attribution that cannot be spoofed."""

import os
from email.message import EmailMessage

import pytest
from conftest import CORPORA

from persona_threading.engine.forwards import attribute, find_forward
from persona_threading.engine.message import parse_message

FIXTURES = CORPORA / "email-forward-parser-fixtures" / "fixtures"
# Text typed above an "On ... wrote:" line: a reply, not a forward (5 are replies in EXPECTED.md;
# Outlook for Mac's variant_2 forward is written the same way and cannot be told apart).
REPLY_SHAPED = {"hubspot_en_body_variant_4.txt", "mailmate_en_body_variant_4.txt",
                "thunderbird_en_body_variant_4.txt", "apple_mail_en_body_variant_4.txt",
                "gmail_en_body_variant_4.txt", "missive_en_body_variant_4.txt",
                "yahoo_en_body_variant_4.txt", "outlook_2019_en_body_variant_2.txt",
                "outlook_2019_en_body_variant_4.txt"}
needs_corpus = pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"forward fixtures not found at {FIXTURES}")


@needs_corpus
def test_real_forwards_from_every_client_and_language_name_the_original_sender():
    wrong = []
    names = sorted(n for n in os.listdir(FIXTURES) if "body" in n and n not in REPLY_SHAPED
                   and n != "unknown_en_body_variant_12.txt")
    for name in names:
        found = find_forward((FIXTURES / name).read_text(encoding="utf-8", errors="replace"))
        if found is None or found.sender != "john.doe@acme.com":
            wrong.append((name, found))
    assert not wrong, wrong
    assert len(names) >= 180


@needs_corpus
def test_replies_are_not_unwrapped():
    for name in ("hubspot_en_body_variant_4.txt", "mailmate_en_body_variant_4.txt",
                 "thunderbird_en_body_variant_4.txt", "gmail_en_body_variant_4.txt"):
        assert find_forward((FIXTURES / name).read_text(encoding="utf-8")) is None, name


@needs_corpus
def test_forward_without_an_address_is_detected_but_names_nobody():
    found = find_forward((FIXTURES / "unknown_en_body_variant_12.txt").read_text(encoding="utf-8"))
    assert found is not None and found.sender is None


def test_the_three_classic_markers():
    for marker in ("Begin forwarded message:", "---------- Forwarded message ---------",
                   "-----Original Message-----"):
        text = f"FYI\n\n{marker}\n\nFrom: Jane Roe <jane@client.example>\nSubject: help\n\nbody"
        assert find_forward(text).sender == "jane@client.example", marker


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
