"""Real mail servers on loopback for end-to-end tests: Dovecot for IMAP, aiosmtpd for SMTP.

``mail_servers(workdir)`` starts a throwaway Dovecot (Debian's ``dovecot-imapd``, run in
the foreground with its own config, sockets, state, users and maildir under ``workdir``;
no system config is read) and an SMTP server that keeps every mail it accepts, both on
127.0.0.1 and on free ports. On exit both stop, even after an error, and no Dovecot
process of the instance is left.

Dovecot itself, and the traps it sets, are in e2e/dovecot.py.
"""

from __future__ import annotations

import imaplib
import os
import re
import secrets
import tempfile
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .dovecot import IMAP_TIMEOUT, LOOPBACK, START_TIMEOUT, Dovecot, MailServerError, ensure_dovecot, free_port

@dataclass(frozen=True)
class CapturedMail:
    """One mail the SMTP server accepted: the envelope and the bytes exactly as sent."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes


class SmtpCapture:
    """An aiosmtpd server in a thread that accepts every mail and keeps it in a list.

    AUTH is offered without TLS and optional: a client may send without logging in, or
    log in with the mailbox's own login (anything else is refused).
    """

    def __init__(self, port: int, user: str, password: str):
        self.port = port
        self.user = user
        self.password = password
        self._messages: list[CapturedMail] = []
        self._lock = threading.Lock()
        self._controller = None

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd handler hook
        raw = envelope.original_content or envelope.content
        with self._lock:
            self._messages.append(CapturedMail(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(raw)))
        return "250 Message accepted for delivery"

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode(errors="replace") == self.user
              and auth_data.password.decode(errors="replace") == self.password)
        return AuthResult(success=ok)

    def start(self) -> None:
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            raise MailServerError("aiosmtpd is not installed: pip install 'persona_threading[test]' "
                                  "(or pip install aiosmtpd)") from None
        self._controller = Controller(
            self, hostname=LOOPBACK, port=self.port, ready_timeout=START_TIMEOUT,
            authenticator=self._authenticate, auth_required=False, auth_require_tls=False,
        )
        try:
            self._controller.start()
        except Exception as error:  # aiosmtpd raises bare errors from its thread
            raise MailServerError(f"SMTP server did not start on {LOOPBACK}:{self.port}: {error}") from error

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[CapturedMail]:
        with self._lock:
            return list(self._messages)


_APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]")
_FETCH_UID = re.compile(rb"\bUID (\d+)")
_FETCH_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")


@dataclass
class MailServers:
    """Where the servers listen and the mailbox login, with helpers driving the real IMAP.

    ``user`` is the mailbox address itself, so a Frappe Email Account needs no separate
    login id: see ``incoming_account_fields`` / ``outgoing_account_fields``.
    """

    imap_host: str
    imap_port: int
    smtp_host: str
    smtp_port: int
    user: str
    password: str
    address: str
    workdir: Path
    dovecot: Dovecot = field(repr=False)
    smtp: SmtpCapture = field(repr=False)

    # -- IMAP --------------------------------------------------------------------------

    @contextmanager
    def imap(self, folder: str | None = None, readonly: bool = True) -> Iterator[imaplib.IMAP4]:
        """A logged-in imaplib connection to the real Dovecot, ``folder`` selected if given."""
        connection = imaplib.IMAP4(self.imap_host, self.imap_port, timeout=IMAP_TIMEOUT)
        try:
            self._ok(connection.login(self.user, self.password), "LOGIN")
            if folder is not None:
                self._ok(connection.select(_quoted(folder), readonly=readonly), f"SELECT {folder}")
            yield connection
        finally:
            try:
                connection.logout()
            except (imaplib.IMAP4.error, OSError):
                pass

    def _ok(self, response: tuple[str, list], what: str) -> list:
        status, data = response
        if status != "OK":
            detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
            raise MailServerError(f"IMAP {what} failed: {status} {detail} (log {self.dovecot.log_path})")
        return data

    def imap_append(self, raw: bytes, folder: str = "INBOX", flags: tuple[str, ...] = ()) -> int:
        """Deliver ``raw`` into ``folder`` (created when missing) as a mail client would; its UID."""
        with self.imap() as connection:
            flag_list = " ".join(flags) or None
            status, data = connection.append(_quoted(folder), flag_list, None, raw)
            if status == "NO" and b"TRYCREATE" in b" ".join(d for d in data if isinstance(d, bytes)):
                self._ok(connection.create(_quoted(folder)), f"CREATE {folder}")
                status, data = connection.append(_quoted(folder), flag_list, None, raw)
            data = self._ok((status, data), f"APPEND {folder}")
            found = _APPENDUID.search(data[0] or b"")
            if found is None:
                raise MailServerError(f"IMAP APPEND {folder} gave no APPENDUID: {data!r}")
            return int(found.group(1))

    def imap_uids(self, folder: str = "INBOX") -> list[int]:
        """The UIDs in ``folder``, ascending."""
        with self.imap(folder) as connection:
            data = self._ok(connection.uid("SEARCH", "ALL"), f"UID SEARCH {folder}")
            return sorted(int(uid) for uid in (data[0] or b"").split())

    def imap_flags(self, folder: str = "INBOX") -> dict[int, frozenset[str]]:
        """Each UID's flags (``\\Seen`` once a client fetched it with seen-marking)."""
        with self.imap(folder) as connection:
            if not self._ok(connection.uid("SEARCH", "ALL"), "UID SEARCH")[0]:
                return {}
            data = self._ok(connection.uid("FETCH", "1:*", "(UID FLAGS)"), f"UID FETCH {folder}")
            flags = {}
            for item in data:
                line = item[0] if isinstance(item, tuple) else item
                uid, found = _FETCH_UID.search(line or b""), _FETCH_FLAGS.search(line or b"")
                if uid and found:
                    flags[int(uid.group(1))] = frozenset(found.group(1).decode().split())
            return flags

    def imap_reset_seen(self, folder: str = "INBOX") -> None:
        """Remove ``\\Seen`` from every mail in ``folder``: the next pull fetches them again."""
        with self.imap(folder, readonly=False) as connection:
            if self._ok(connection.uid("SEARCH", "ALL"), "UID SEARCH")[0]:
                self._ok(connection.uid("STORE", "1:*", "-FLAGS.SILENT", r"(\Seen)"), f"UID STORE {folder}")

    # -- SMTP ---------------------------------------------------------------------------

    def smtp_messages(self) -> list[CapturedMail]:
        """Every mail the SMTP server accepted so far, oldest first (a copy)."""
        return self.smtp.messages()

    # -- Frappe Email Account settings (plain dicts: this package never imports frappe) ---

    def incoming_account_fields(self, append_to: str | None = None, folder: str = "INBOX",
                                email_sync_option: str = "UNSEEN") -> dict[str, object]:
        """Email Account fields pulling from this IMAP mailbox (plain IMAP, no SSL/STARTTLS).

        ``email_sync_option`` is Frappe's mode: "UNSEEN" (by \\Seen flags) or "ALL" (by UID).
        Frappe wants at least one IMAP folder row.
        """
        return {"email_id": self.address, "password": self.password, "enable_incoming": 1,
                "use_imap": 1, "email_server": self.imap_host, "incoming_port": str(self.imap_port),
                "use_ssl": 0, "use_starttls": 0, "login_id_is_different": 0, "append_to": append_to,
                "email_sync_option": email_sync_option,
                "imap_folder": [{"folder_name": folder, "append_to": append_to}]}

    def outgoing_account_fields(self) -> dict[str, object]:
        """Email Account fields sending through the capturing SMTP server (no TLS, no login)."""
        return {"email_id": self.address, "enable_outgoing": 1, "smtp_server": self.smtp_host,
                "smtp_port": str(self.smtp_port), "use_tls": 0, "use_ssl_for_outgoing": 0,
                "no_smtp_authentication": 1}

    def dovecot_processes(self) -> list[int]:
        """Live processes of this Dovecot instance (empty once the context has exited)."""
        return self.dovecot.processes()


def _quoted(folder: str) -> str:
    """A mailbox name as an IMAP string (imaplib sends arguments verbatim)."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def mail_servers(workdir: str | os.PathLike, *, local_part: str = "support",
                 domain: str = "e2e.localhost") -> Iterator[MailServers]:
    """Start Dovecot (IMAP) and the SMTP capture on loopback and free ports; stop both on exit.

    Each call works in a fresh folder under ``workdir`` (kept afterwards: the Dovecot log
    and config stay there to read). Raises MailServerError, one line, when a server cannot
    be installed or started.
    """
    binary = ensure_dovecot()
    Path(workdir).mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="mail-servers-", dir=Path(workdir)))
    address = f"{local_part}@{domain}"
    password = secrets.token_hex(12)
    with ExitStack() as stack:
        dovecot = _start_dovecot(root, address, password, binary, stack)
        smtp = SmtpCapture(free_port(), address, password)
        stack.callback(smtp.stop)
        smtp.start()
        yield MailServers(imap_host=LOOPBACK, imap_port=dovecot.port, smtp_host=LOOPBACK,
                          smtp_port=smtp.port, user=address, password=password, address=address,
                          workdir=root, dovecot=dovecot, smtp=smtp)


def _start_dovecot(root: Path, user: str, password: str, binary: str, stack: ExitStack) -> Dovecot:
    """Start Dovecot on a free port; a new port (three tries in all) if another program took it first."""
    for attempt in range(3):
        dovecot = Dovecot(root, user, password, free_port())
        stack.callback(dovecot.stop)
        try:
            dovecot.start(binary)
            return dovecot
        except MailServerError as error:
            if "Address already in use" not in str(error) or attempt == 2:
                raise
    raise AssertionError("unreachable")
