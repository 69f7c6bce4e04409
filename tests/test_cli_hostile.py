"""The CLI facing hostile mail and bad arguments: safe terminal output, skips, one-line errors."""

import json
import os
import subprocess
import sys

import pytest
from test_cli import CONFIG, run

from persona_threading import cli, sources

HOSTILE_SUBJECT = b"Subject: \x1b]0;owned\x07\x1b[2Jhi =?utf-8?q?=C2=9B31m_=E2=80=AEevil=E2=81=A6?=\n"


def hostile_mail(to=b"acme@help.example", mid=b"<hostile@x.example>"):
    return (b"From: mallory@evil.example\nTo: " + to + b"\nMessage-ID: " + mid + b"\n"
            + HOSTILE_SUBJECT + b"\nhello\n")


def assert_terminal_safe(out: bytes):
    text = out.decode()
    for unsafe in ("\x1b", "\x07", "\x9b", "\u202e", "\u2066"):
        assert unsafe not in text, repr(unsafe)
    return text


def test_human_output_escapes_controls_and_bidi_but_json_stays_exact(tmp_path):
    (tmp_path / "h.eml").write_bytes(hostile_mail())
    (tmp_path / "q.eml").write_bytes(hostile_mail(b"support@help.example", b"<queued@x.example>"))
    routed = run(tmp_path, "route", str(tmp_path / "h.eml"), str(tmp_path / "q.eml"))
    assert routed.returncode == 0, routed.stderr
    assert_terminal_safe(routed.stdout)
    for result in (run(tmp_path, "show", "1"), run(tmp_path, "list"), run(tmp_path, "queue"),
                   run(tmp_path, "explain", str(tmp_path / "h.eml"))):
        assert result.returncode == 0, result.stderr
        text = assert_terminal_safe(result.stdout)
        assert "\\x1b]0;owned\\x07\\x1b[2Jhi \\x9b31m \\u202eevil\\u2066" in text
    shown = json.loads(run(tmp_path, "show", "1", "--json").stdout)
    assert shown["subject"].startswith("\x1b]0;owned\x07\x1b[2Jhi") and "\u202eevil\u2066" in shown["subject"]


def test_terminal_safe_keeps_text_and_line_breaks():
    assert cli.terminal_safe("Grüße\tare\nfine ✓") == "Grüße\tare\nfine ✓"
    assert cli.terminal_safe("a\rb\x00c\u200fd") == "a\\x0db\\x00c\\u200fd"


def test_input_that_is_not_an_email_is_skipped_and_counted(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (folder / "2.eml").write_bytes(hostile_mail())
    (folder / "3.bin").write_bytes(os.urandom(0) + bytes(range(255, -1, -1)) * 4)
    result = run(tmp_path, "route", "--json", str(folder))
    assert result.returncode == 1
    assert len(result.stdout.decode().splitlines()) == 1
    stderr = result.stderr.decode()
    assert stderr.count("skipped: not an email message") == 2 and "Traceback" not in stderr
    assert "1 routed, 2 skipped (not email)" in stderr
    empty = run(tmp_path, "route", "-", stdin=b"")
    assert empty.returncode == 1 and b"<stdin>: skipped" in empty.stderr
    assert run(tmp_path, "list").stdout.decode().count("\n") == 1  # no conversation for the junk


def test_an_unreadable_file_in_a_folder_is_reported_and_the_rest_are_routed(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "Maildir"
    folder.mkdir()
    for name in ("1.eml", "2.eml", "3.eml"):
        (folder / name).write_bytes(hostile_mail(mid=f"<{name}@x.example>".encode()))
    real = sources.read_source

    def unreadable_second(path):
        if path.endswith("2.eml"):
            raise sources.SourceError(f"cannot read {path}: Permission denied")
        return real(path)

    monkeypatch.setattr(sources, "read_source", unreadable_second)
    code = cli.main(["--db", str(tmp_path / "d.sqlite3"), "route", "--json", str(folder)])
    out, err = capsys.readouterr()
    assert code == 1
    assert [json.loads(line)["message_id"] for line in out.splitlines()] == ["1.eml@x.example", "3.eml@x.example"]
    assert "2.eml: Permission denied" in err and "2 routed, 0 skipped (not email), 1 unreadable" in err


@pytest.mark.parametrize("args, message", [
    (("queue", "attach", "99999999999999999999", "1"), b"no open queued message"),
    (("reply", "1", "--from", "a@help.example\r\nBcc: victim@x.example", "--body", "x"), b"--from must not"),
    (("reply", "1", "--from", "a@help.example", "--to", "b@x.example\nBcc: v@x.example", "--body", "x"),
     b"--to must not"),
    (("reply", "1", "--from", "a@help.example", "--cc", "c@x.example\r", "--body", "x"), b"--cc must not"),
    (("route", os.fsdecode(b"/nonexistent/\xfe.eml")), b"cannot read /nonexistent/\\xfe.eml"),
])
def test_bad_arguments_are_one_line_and_exit_2(tmp_path, args, message):
    (tmp_path / "new.eml").write_bytes(hostile_mail())
    assert run(tmp_path, "route", str(tmp_path / "new.eml")).returncode == 0
    result = run(tmp_path, *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and b"Traceback" not in result.stderr
    assert len(result.stderr.decode().strip().splitlines()) == 1


def test_a_file_name_that_is_not_utf8_is_shown_escaped(tmp_path):
    name = os.path.join(os.fsencode(tmp_path), b"\xff.eml")
    with open(name, "wb") as handle:
        handle.write(hostile_mail())
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict")  # as under a UTF-8 locale
    for command in ("route", "explain"):
        result = subprocess.run([sys.executable, "-m", "persona_threading", "--db", str(tmp_path / "d"),
                                 command, name], capture_output=True, env=env)
        assert b"Traceback" not in result.stderr
        assert result.returncode == 0 and b"\\xff.eml" in result.stdout
