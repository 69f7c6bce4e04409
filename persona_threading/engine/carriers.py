"""Mint, find and verify the conversation key in every carrier outgoing mail can hold.

A conversation key is 11 random base62 characters (65 bits, unguessable). The token that
travels in mail is the key followed by a 12-character MAC (HMAC-SHA256 of the key under
the site secret, 71 bits), 23 base62 characters in all. Every carrier holds the same
token, so every carrier is verified the same way: an altered or invented token fails
the MAC and never threads.

Carriers:
    subject / body token   ``thread::<token>::``
    hidden HTML ticket tag ``<span ... data-pt-ticket="<token>">pt-ticket:<token></span>``
    subject tag            ``[ID-<token>]``
    plus address           ``support+<token>@example.com``
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KEY_LENGTH = 11
MAC_LENGTH = 12
TOKEN_LENGTH = KEY_LENGTH + MAC_LENGTH

TOKEN_PATTERN = f"[0-9A-Za-z]{{{TOKEN_LENGTH}}}"
_WELL_FORMED = re.compile(TOKEN_PATTERN)
THREAD_TOKEN_RE = re.compile(rf"thread::({TOKEN_PATTERN})::")
TICKET_TAG_RE = re.compile(rf"pt-ticket(?::|=[\"']?)({TOKEN_PATTERN})(?![0-9A-Za-z])")
SUBJECT_TAG_RE = re.compile(rf"\[ID-({TOKEN_PATTERN})\]")
PLUS_ADDRESS_RE = re.compile(rf"^[^+@\s]+\+({TOKEN_PATTERN})@[^@\s]+$")


def _base62(number: int, width: int) -> str:
    out = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        out.append(ALPHABET[digit])
    return "".join(reversed(out))


def generate_secret() -> str:
    """A new site secret for signing tokens."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Verified:
    """Result of checking a token: ``key`` when genuine, else why not."""

    token: str
    key: str | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.key is not None


class Keyring:
    """Mints keys and signs/verifies tokens with the site secret(s).

    The first secret signs; every secret verifies, so a secret can be rotated without
    breaking threads that are already in customers' mailboxes.
    """

    def __init__(self, *secrets_: str):
        if not secrets_ or not all(secrets_):
            raise ValueError("a Keyring needs at least one non-empty secret")
        self._secrets = tuple(s.encode("utf-8") for s in secrets_)

    @staticmethod
    def mint_key() -> str:
        return "".join(secrets.choice(ALPHABET) for _ in range(KEY_LENGTH))

    def _mac(self, key: str, secret: bytes) -> str:
        digest = hmac.new(secret, b"pt1:" + key.encode("ascii"), hashlib.sha256).digest()
        return _base62(int.from_bytes(digest[:9], "big"), MAC_LENGTH)

    def token(self, key: str) -> str:
        return key + self._mac(key, self._secrets[0])

    def verify(self, token: str) -> Verified:
        key, mac = token[:KEY_LENGTH], token[KEY_LENGTH:]
        if not _WELL_FORMED.fullmatch(token):
            return Verified(token, None, "not a well-formed token")
        for secret in self._secrets:
            if hmac.compare_digest(self._mac(key, secret), mac):
                return Verified(token, key, "signature valid")
        return Verified(token, None, "signature invalid (forged or altered token)")


# -- rendering carriers into outgoing mail ---------------------------------------------


def thread_token(token: str) -> str:
    return f"thread::{token}::"


def subject_tag(token: str) -> str:
    return f"[ID-{token}]"


def body_token_text(token: str) -> str:
    """The plain-text footer line holding the body token."""
    return f"[{thread_token(token)}]"


def body_token_html(token: str) -> str:
    """The HTML footer holding the body token (small and grey: it is for machines)."""
    return f'<div style="color:#999;font-size:11px">{body_token_text(token)}</div>'


def ticket_tag_html(token: str) -> str:
    """A hidden element; quoted along with the body by mail clients, invisible to readers."""
    return (
        f'<span class="pt-ticket" data-pt-ticket="{token}" style="display:none!important;'
        "font-size:0;line-height:0;max-height:0;max-width:0;opacity:0;overflow:hidden;"
        f'mso-hide:all">pt-ticket:{token}</span>'
    )


def plus_address(address: str, token: str) -> str:
    local, _, domain = address.partition("@")
    local = local.split("+", 1)[0]
    return f"{local}+{token}@{domain}"


# -- finding carriers in inbound mail ---------------------------------------------------


def find_all(pattern: re.Pattern[str], text: str) -> list[str]:
    """Distinct matches of the pattern's one group, in order of appearance."""
    return list(dict.fromkeys(pattern.findall(text))) if text else []


def find_plus_tokens(addresses: tuple[str, ...]) -> list[str]:
    found = []
    for address in addresses:
        match = PLUS_ADDRESS_RE.match(address) if "+" in address else None  # most have no +tag
        if match:
            found.append(match.group(1))
    return list(dict.fromkeys(found))
