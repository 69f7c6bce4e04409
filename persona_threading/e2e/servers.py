"""Real mail servers on loopback for end-to-end tests: Dovecot for IMAP, aiosmtpd for SMTP.

``mail_servers(workdir)`` starts a throwaway Dovecot (Debian's ``dovecot-imapd``, run in
the foreground with its own config, sockets, state, users and maildir under ``workdir``;
no system config is read) and an SMTP server that keeps every mail it accepts, both on
127.0.0.1 and on free ports. On exit both stop, even after an error, and no Dovecot
process of the instance is left.

Dovecot traps this works around (2.3):

- the mail processes never run as root ("Mail access not allowed for root", whatever
  ``first_valid_uid`` says), and ``imap-login`` refuses root too. As root, the mail user is
  ``nobody`` with ``mail_chroot`` at the maildir root: the chroot happens while still
  root, so a caller's 0700 temporary folder does not need to be opened up to ``nobody``;
- the auth process runs as ``default_internal_user`` (``dovecot``), which cannot read a
  passwd-file inside a 0700 folder: as root the internal user is root; as another user
  every service runs as that user, with no chroot;
- unix socket paths are limited to 107 bytes: a deep ``workdir`` gets its ``base_dir``
  in a short private temporary folder instead (removed on exit).
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

LOOPBACK = "127.0.0.1"
DOVECOT_PACKAGE = "dovecot-imapd"
INSTALL_COMMAND = f"apt-get install -y {DOVECOT_PACKAGE}"
# Where Debian (and Fedora) put the IMAP binary: dovecot-core alone has no IMAP server.
IMAP_BINARIES = ("/usr/lib/dovecot/imap", "/usr/libexec/dovecot/imap")
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
IMAP_TIMEOUT = 10.0
# Longest socket name Dovecot creates in base_dir, plus slack, within the 107-byte limit.
MAX_BASE_DIR = 107 - len("/replication-notify-fifo") - 8


class MailServerError(RuntimeError):
    """A mail server could not be installed, started or used; the message is one line."""


@dataclass(frozen=True)
class CapturedMail:
    """One mail the SMTP server accepted: the envelope and the bytes exactly as sent."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes


def _dovecot_binary() -> str | None:
    # /usr/sbin is not on every user's PATH
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


def _dovecot_installed() -> bool:
    return _dovecot_binary() is not None and any(os.path.exists(p) for p in IMAP_BINARIES)


def ensure_dovecot() -> str:
    """The dovecot binary, installing ``dovecot-imapd`` with apt-get first when run as root.

    Raises MailServerError with one line naming what to install when it cannot.
    """
    if _dovecot_installed():
        return _dovecot_binary()  # type: ignore[return-value]
    if os.geteuid() != 0:
        raise MailServerError(f"Dovecot (IMAP) is not installed: run `sudo {INSTALL_COMMAND}`")
    if shutil.which("apt-get") is None:
        raise MailServerError(f"Dovecot (IMAP) is not installed and there is no apt-get: install "
                              f"Dovecot with IMAP ({DOVECOT_PACKAGE} on Debian)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", DOVECOT_PACKAGE]
    failure = ""
    for before in ([], ["apt-get", "update", "-q"]):  # stale package lists: update once, retry
        try:
            if before:
                subprocess.run(before, env=env, capture_output=True, timeout=600, check=True)
            subprocess.run(install, env=env, capture_output=True, timeout=600, check=True)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            output = getattr(error, "stderr", b"") or b""
            failure = (output.decode(errors="replace").strip().splitlines() or [str(error)])[-1]
            continue
        if _dovecot_installed():
            return _dovecot_binary()  # type: ignore[return-value]
    raise MailServerError(f"`{INSTALL_COMMAND}` failed: {failure or 'dovecot still missing'}")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


@dataclass
class _MailUser:
    """Who owns the maildir, and where Dovecot's processes find it."""

    uid: int
    gid: int
    home: str  # as the mail process sees it (inside mail_chroot when there is one)
    chroot: Path | None


class Dovecot:
    """A throwaway Dovecot IMAP instance: its own config, sockets, state, users and maildir."""

    def __init__(self, root: Path, user: str, password: str, port: int):
        self.root = root
        self.user = user
        self.password = password
        self.port = port
        self.instance_name = f"pt-e2e-{os.getpid()}-{secrets.token_hex(3)}"
        self.config_path = root / "dovecot.conf"
        self.log_path = root / "dovecot.log"
        self.process: subprocess.Popen | None = None
        self._short_base_dir: str | None = None

    # -- configuration ---------------------------------------------------------------

    def _base_dir(self) -> Path:
        """``root/run``, or a short private folder when that path is too long for sockets."""
        wanted = self.root / "run"
        if len(str(wanted)) <= MAX_BASE_DIR:
            return wanted
        if self._short_base_dir is None:
            self._short_base_dir = tempfile.mkdtemp(prefix="pt-dovecot-")
        return Path(self._short_base_dir)

    def _mail_user(self) -> _MailUser:
        local = self.user.partition("@")[0]
        mail_root = self.root / "mail"
        mail_root.mkdir(mode=0o755, exist_ok=True)
        if os.geteuid() != 0:
            return _MailUser(os.getuid(), os.getgid(), str(mail_root / local), None)
        nobody = pwd.getpwnam("nobody")
        home = mail_root / local
        home.mkdir(exist_ok=True)
        os.chown(home, nobody.pw_uid, nobody.pw_gid)
        return _MailUser(nobody.pw_uid, nobody.pw_gid, f"/{local}", mail_root)

    def write_config(self) -> None:
        """Config, users file and folders; nothing outside ``root`` (and a short base_dir)."""
        (self.root / "state").mkdir(exist_ok=True)
        mail_user = self._mail_user()
        users_path = self.root / "users"
        # one passwd-file line serves as passdb and userdb: user:{PLAIN}pw:uid:gid::home::
        users_path.write_text(f"{self.user}:{{PLAIN}}{self.password}:{mail_user.uid}:{mail_user.gid}"
                              f"::{mail_user.home}::\n")
        users_path.chmod(0o600)
        if os.geteuid() == 0:
            runs_as = ("default_internal_user = root\n"
                       "default_internal_group = root\n"
                       "default_login_user = dovenull\n"  # created by dovecot-core
                       f"mail_chroot = {mail_user.chroot}\n")
            no_chroot = ""
        else:
            me = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
            runs_as = (f"default_internal_user = {me}\n"
                       f"default_internal_group = {group}\n"
                       f"default_login_user = {me}\n"
                       f"first_valid_uid = {os.getuid()}\n"
                       f"first_valid_gid = {os.getgid()}\n")
            # chroot needs root; these services chroot by default
            no_chroot = "".join(f"service {name} {{\n  chroot =\n}}\n"
                                for name in ("anvil", "imap-urlauth-login"))
        self.config_path.write_text(
            f"# Throwaway Dovecot for persona_threading's end-to-end tests: loopback only.\n"
            f"instance_name = {self.instance_name}\n"
            f"base_dir = {self._base_dir()}\n"
            f"state_dir = {self.root / 'state'}\n"
            f"log_path = {self.log_path}\n"
            f"protocols = imap\n"
            f"listen = {LOOPBACK}\n"
            f"ssl = no\n"
            f"disable_plaintext_auth = no\n"
            f"auth_mechanisms = plain login\n"
            f"mail_location = maildir:~/Maildir\n"
            f"mail_fsync = never\n"
            f"{runs_as}"
            f"passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {users_path}\n}}\n"
            f"userdb {{\n  driver = passwd-file\n  args = username_format=%u {users_path}\n}}\n"
            f"service imap-login {{\n"
            f"  inet_listener imap {{\n    address = {LOOPBACK}\n    port = {self.port}\n  }}\n"
            f"  inet_listener imaps {{\n    port = 0\n  }}\n"
            + ("" if os.geteuid() == 0 else "  chroot =\n")
            + "}\n"
            + no_chroot
        )

    # -- lifecycle -------------------------------------------------------------------

    def start(self, binary: str) -> None:
        """Run ``dovecot -F -c <conf>`` and wait, bounded, for its IMAP greeting."""
        self.write_config()
        console = open(self.root / "dovecot.console.log", "ab")
        try:
            self.process = subprocess.Popen(
                [binary, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() can end it whole
            )
        finally:
            console.close()
        self._wait_for_greeting(time.monotonic() + START_TIMEOUT)

    def _wait_for_greeting(self, deadline: float) -> None:
        while True:
            if self.process.poll() is not None:
                reason = _last_line(self.log_path) or _last_line(self.root / "dovecot.console.log")
                raise MailServerError(f"dovecot exited with code {self.process.returncode} at start: "
                                      f"{reason or 'no log'} (config {self.config_path})")
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=1.0) as probe:
                    if probe.recv(256).startswith(b"* OK"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise MailServerError(f"dovecot gave no IMAP greeting on {LOOPBACK}:{self.port} within "
                                      f"{START_TIMEOUT:.0f}s (log {self.log_path})")
            time.sleep(0.05)

    def processes(self) -> list[int]:
        """Live processes of this instance: the master (its config path) and its children
        (titled ``dovecot-<instance_name>/…``); zombies have no command line and do not count."""
        marks = (self.instance_name.encode(), str(self.config_path).encode())
        found = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                    title = cmdline.read()
            except OSError:
                continue
            if any(mark in title for mark in marks):
                found.append(int(entry.name))
        return found

    def stop(self) -> None:
        """SIGTERM the whole process group, then SIGKILL whatever is left after a deadline.

        The group at once, not the master alone: the master by itself waits about a
        second for its children, the group stops in milliseconds.
        """
        if self.process is not None and self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._short_base_dir:
            shutil.rmtree(self._short_base_dir, ignore_errors=True)

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)  # start_new_session: the group is the master's pid
        except ProcessLookupError:
            pass


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
