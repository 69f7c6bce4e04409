"""The end-to-end harness really runs Dovecot and an SMTP capture on loopback, and cleans up.

Never skipped: where Dovecot cannot be installed or started the test fails with one line
saying why (not root and Dovecot missing: the apt-get line to run).
"""

import email
import imaplib
import smtplib

import pytest

from persona_threading.demo.client import new_mail
from persona_threading.e2e import MailServerError, ensure_dovecot, mail_servers


@pytest.fixture
def servers(tmp_path):
    try:
        ensure_dovecot()
        with mail_servers(tmp_path) as running:
            yield running
    except MailServerError as error:
        pytest.fail(str(error), pytrace=False)


def test_a_mail_appended_over_imap_comes_back_with_its_uid_and_seen_flag(servers):
    raw = new_mail("carol@customer.example", servers.address, "Printer broken", "It smokes.")
    first = servers.imap_append(raw)
    second = servers.imap_append(raw.replace(b"It smokes.", b"Still smoking."), flags=(r"\Seen",))
    assert servers.imap_uids() == [first, second] and first < second

    with imaplib.IMAP4(servers.imap_host, servers.imap_port, timeout=10) as client:
        client.login(servers.user, servers.password)
        client.select("INBOX")
        assert client.uid("SEARCH", "UNSEEN")[1][0].split() == [str(first).encode()]
        status, data = client.uid("FETCH", str(first), "(UID FLAGS BODY.PEEK[])")
        assert status == "OK"
        assert f"UID {first}".encode() in data[0][0]
        assert email.message_from_bytes(data[0][1])["Subject"] == "Printer broken"
        client.uid("FETCH", str(first), "(BODY[])")  # a client fetching without PEEK marks it seen

    assert servers.imap_flags() == {first: frozenset({r"\Seen"}), second: frozenset({r"\Seen"})}
    servers.imap_reset_seen()
    assert servers.imap_flags() == {first: frozenset(), second: frozenset()}


def test_a_mail_sent_over_smtp_is_captured_with_its_envelope_and_bytes(servers):
    raw = new_mail(servers.address, "carol@customer.example", "Re: Printer broken", "On it.")
    with smtplib.SMTP(servers.smtp_host, servers.smtp_port, timeout=10) as client:
        client.sendmail(servers.address, ["carol@customer.example"], raw)
    with smtplib.SMTP(servers.smtp_host, servers.smtp_port, timeout=10) as client:
        client.login(servers.user, servers.password)  # the same login as the mailbox works too
        client.sendmail(servers.address, ["dan@customer.example"], raw)

    captured = servers.smtp_messages()
    assert [(m.mail_from, m.rcpt_tos) for m in captured] == [
        (servers.address, ("carol@customer.example",)), (servers.address, ("dan@customer.example",))]
    assert email.message_from_bytes(captured[0].raw)["Message-ID"] == email.message_from_bytes(raw)["Message-ID"]


def test_servers_listen_on_loopback_and_no_dovecot_process_outlives_the_context(tmp_path):
    try:
        with mail_servers(tmp_path) as running:
            assert running.imap_host == running.smtp_host == "127.0.0.1"
            assert running.dovecot_processes(), "the Dovecot instance should be running"
            raise RuntimeError("the test body failed")
    except MailServerError as error:
        pytest.fail(str(error), pytrace=False)
    except RuntimeError:
        pass
    assert running.dovecot_processes() == []
    with pytest.raises(OSError):
        smtplib.SMTP(running.smtp_host, running.smtp_port, timeout=2)


def test_without_dovecot_and_without_root_the_error_is_the_line_to_run(monkeypatch):
    from persona_threading.e2e import dovecot as module

    monkeypatch.setattr(module, "_dovecot_installed", lambda: False)
    monkeypatch.setattr(module.os, "geteuid", lambda: 1000)
    with pytest.raises(MailServerError, match=r"run `sudo apt-get install -y dovecot-imapd`$"):
        ensure_dovecot()
