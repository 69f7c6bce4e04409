"""Agent-forwarded submissions: find the original sender inside a forward, and decide who
the requester is.

Detection, in order: a forwarded message attached as message/rfc822; a forward marker
(Gmail/Thunderbird/Yahoo/Outlook dashed lines, Apple Mail's "Begin forwarded message:" in
~20 languages, Outlook's underscore rule) followed by a From line within 25 lines; a block
of quoted headers (From + Subject labels, as New Outlook writes without any marker); an
Outlook-for-Mac first line ``On <date>, "Name" <addr> wrote:``. A reply (text above an
"On ... wrote:" line) is not a forward.

Attribution never trusts the payload alone: only an active internal user's forward is
unwrapped, so an outsider cannot spoof a "forwarded" mail to impersonate anyone.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email import policy as email_policy

from .lookup import Lookup
from .message import InboundMessage

FROM_LABELS = (
    "From", "Von", "De", "De la", "Da", "Van", "Fra", "Från", "Frá", "Od", "От", "Від", "Від кого",
    "Отправитель", "Lähettäjä", "Feladó", "Kimden", "Gönderen", "Šalje", "Pošiljatelj",
    "Odesílatel", "Expeditorul", "Expeditor", "Saatja", "Mittente", "Nadawca", "Remitente",
    "Afzender", "Αποστολέας", "送信元", "差出人", "发件人", "寄件者", "보낸 사람",
)
SUBJECT_LABELS = (
    "Subject", "Betreff", "Objet", "Sujet", "Asunto", "Assunto", "Oggetto", "Onderwerp", "Emne",
    "Ämne", "Efni", "Aihe", "Tárgy", "Konu", "Temat", "Předmět", "Predmet", "Naslov", "Subiect",
    "Subiectul", "Tema", "Тема", "Θέμα", "件名", "主题", "主旨", "제목",
)
APPLE_MARKERS = (
    "Begin forwarded message", "Forwarded message", "Anfang der weitergeleiteten Nachricht",
    "Début du message réexpédié", "Inicio del mensaje reenviado", "Inizio messaggio inoltrato",
    "Begin doorgestuurd bericht", "Start på videresendt besked", "Videresendt melding",
    "Vidarebefordrat mejl", "Välitetty viesti alkaa", "Továbbított levél kezdete",
    "Początek przekazywanej wiadomości", "Início da mensagem reencaminhada",
    "Início da mensagem encaminhada", "Începe mesajul redirecționat",
    "Начало переадресованного сообщения", "Začátek přeposílané zprávy",
    "Začiatok preposlanej správy", "Započni proslijeđenu poruku", "İleti başlangıcı",
    "Початок листа, що пересилається",
)
SCAN_LINES = 400
WINDOW_LINES = 25
#: Only this much text, in lines of at most MAX_LINE_CHARS (RFC 5322's 998), is scanned: a
#: mail's cost stays linear whatever its lines look like.
MAX_SCAN_CHARS = 1 << 18
MAX_LINE_CHARS = 998

_alt = lambda words: "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))  # noqa: E731
_FROM = re.compile(rf"(?:^|[\s*>])(?:{_alt(FROM_LABELS)})\s*(?:\*+\s*)?[:：]\s*(.*)", re.IGNORECASE)
_FROM_LINE = re.compile(rf"^\**(?:{_alt(FROM_LABELS)})\**\s*[:：]", re.IGNORECASE)
_SUBJECT_LINE = re.compile(rf"^\**(?:{_alt(SUBJECT_LABELS)})\**\s*[:：]", re.IGNORECASE)
_MARKER = re.compile(
    rf"^(?:-{{2,}}([^-\n]{{3,}})-{{2,}}|_{{10,}}|(?:{_alt(APPLE_MARKERS)})\s*:)", re.IGNORECASE
)  # a dashed marker's text is at most 60 characters, checked in _is_marker (no backtracking)
# Starts only where a run of local-part characters starts: searching stays linear.
_EMAIL = re.compile(r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_QUOTE = re.compile(r"^[\s>]*")


@dataclass(frozen=True)
class Forward:
    how: str  # what gave it away: "attached message", a marker line, "quoted headers", ...
    sender: str | None  # the original sender's address (None when the forward names none)
    sender_line: str  # the From line as written, for evidence


def find_forward(text: str) -> Forward | None:
    """The forward in a body's text, or None when it is not a forward."""
    lines = [_QUOTE.sub("", line[:MAX_LINE_CHARS]).replace("\ufeff", "")
             for line in text[:MAX_SCAN_CHARS].splitlines()[:SCAN_LINES]]
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if _is_marker(stripped):
            window = "\n".join(lines[index: index + WINDOW_LINES])
            found = _FROM.search(window)
            if found:
                return Forward(stripped[:80], _first_address(found.group(1), window[found.end():]),
                               found.group(0).strip()[:200])
        if _FROM_LINE.match(stripped) and _headers_block(lines, index):
            value = stripped.split(":", 1)[-1] if ":" in stripped else stripped.split("：", 1)[-1]
            return Forward("quoted headers", _first_address(value, lines[index + 1] if index + 1 < len(lines) else ""),
                           stripped[:200])
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.endswith(":") and _EMAIL.search(first):  # Outlook for Mac: "On <date>, "X" <x@y> wrote:"
        return Forward("forward header line", _EMAIL.search(first).group(0).lower(), first[:200])
    return None


def _is_marker(line: str) -> bool:
    found = _MARKER.match(line)
    return found is not None and (found.group(1) is None or len(found.group(1).strip()) <= 60)


def _headers_block(lines: list[str], start: int) -> bool:
    """A From line opening (or inside) a short block of quoted headers that has a Subject."""
    block = lines[max(start - 6, 0): start + 7]
    return any(_SUBJECT_LINE.match(line.strip()) for line in block)


def _first_address(value: str, following: str) -> str | None:
    found = _EMAIL.search(value) or _EMAIL.search(following.split("\n", 1)[0])
    return found.group(0).lower() if found else None


def attached_forward(raw: bytes) -> Forward | None:
    """A forward attached as message/rfc822 (Outlook's "forward as attachment")."""
    try:
        outer = email.message_from_bytes(raw, policy=email_policy.compat32)
        for part in outer.walk():
            if part.get_content_type() != "message/rfc822":
                continue
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if inner is None:
                continue
            _, address = email.utils.parseaddr(str(inner.get("From", "")))
            return Forward("attached message", address.lower() or None, f"From: {inner.get('From', '')}"[:200])
    except Exception:  # broken MIME: no attached forward, the text rule may still find one
        return None
    return None


@dataclass(frozen=True)
class Attribution:
    submitted_by: str | None
    assigned_to: str | None
    evidence: str
    forwarded: bool = False  # an agent's forward was found (whatever the outcome)


def attribute(message: InboundMessage, lookup: Lookup, external_requesters: bool = False) -> Attribution:
    """Who submitted a new conversation, and whom it is assigned to (for agent forwards)."""
    outer = message.from_addr or None
    normal = Attribution(outer, None, "submitted by its sender")
    if not outer or not lookup.is_active_user(outer):  # the body is not even read: nothing to spoof
        return Attribution(outer, None, "submitted by its sender (not an active internal user, so any "
                                        "forwarded content is not trusted)")
    forward = attached_forward(message.raw) or find_forward(message.text)
    if forward is None:
        return normal
    if not forward.sender:
        return Attribution(outer, None, f"forwarded by {outer} ({forward.how}) but the original sender has "
                                        "no address; the agent is the submitter", True)
    internal = lookup.is_active_user(forward.sender)
    if internal or external_requesters:
        kind = "internal user" if internal else "external sender"
        return Attribution(forward.sender, outer, f"created via forward from {outer} on behalf of "
                                                  f"{forward.sender} ({kind}; {forward.how})", True)
    return Attribution(outer, None, f"forwarded by {outer} from external {forward.sender}; external "
                                    "requesters are not allowed, so the agent is the submitter", True)
