"""A throwaway Dovecot IMAP server for tests: its own config, sockets, state, users, maildir.

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
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

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
