"""Agent-forwarded submissions: find the original sender inside a forward, and decide who
the requester is.

A mail is a forward only when it says so: a forwarded message attached as message/rfc822,
or a forward marker line (Apple's "Begin forwarded message:", Gmail's "---------- Forwarded
message ---------", Outlook's "-----Original Message-----" or its underscore rule, and
their translations) followed by a From line within 25 lines. Nothing else is guessed: a
block of quoted headers without a marker, or a first line such as "Please loop in
colleague@help.example on this:", is the agent's own mail.

Attribution never trusts the payload alone: only an active internal user's forward is
unwrapped, so an outsider cannot spoof a "forwarded" mail to impersonate anyone. The
agent is the From header's address alone (never Sender: or Return-Path:), and only when
the site's trusted Authentication-Results do not show it forged (engine.authenticity).
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email import policy as email_policy

from .authenticity import NOT_CONFIGURED, Authenticity
from .lookup import Lookup
from .message import InboundMessage
from .phrases import Phrase

FROM_LABELS = (
    "From", "Von", "De", "De la", "Da", "Van", "Fra", "Från", "Frá", "Od", "От", "Від", "Від кого",
    "Отправитель", "Lähettäjä", "Feladó", "Kimden", "Gönderen", "Šalje", "Pošiljatelj",
    "Odesílatel", "Expeditorul", "Expeditor", "Saatja", "Mittente", "Nadawca", "Remitente",
    "Afzender", "Αποστολέας", "送信元", "差出人", "发件人", "寄件者", "보낸 사람",
)
#: The words of forward markers: written "Phrase:" (Apple Mail) or between dashes (Gmail,
#: Thunderbird, Yahoo, Outlook's "-----Original Message-----"), in the clients' languages.
FORWARD_MARKERS = (
    # Apple Mail
    "Begin forwarded message", "Anfang der weitergeleiteten Nachricht",
    "Début du message réexpédié", "Inicio del mensaje reenviado", "Inizio messaggio inoltrato",
    "Begin doorgestuurd bericht", "Start på videresendt besked", "Videresendt melding",
    "Vidarebefordrat mejl", "Välitetty viesti alkaa", "Továbbított levél kezdete",
    "Początek przekazywanej wiadomości", "Início da mensagem reencaminhada",
    "Início da mensagem encaminhada", "Începe mesajul redirecționat",
    "Начало переадресованного сообщения", "Začátek přeposílané zprávy",
    "Začiatok preposlanej správy", "Započni proslijeđenu poruku", "İleti başlangıcı",
    "Початок листа, що пересилається",
    # Gmail, Thunderbird, Yahoo, Missive, MailMate
    "Forwarded message", "Weitergeleitete Nachricht", "Message transféré", "Mensaje reenviado",
    "Messaggio inoltrato", "Doorgestuurd bericht", "Videresendt meddelelse",
    "Vidarebefordrat meddelande", "Edelleenlähetetty viesti", "Välitetty viesti",
    "Továbbított üzenet", "Wiadomość przesłana dalej", "Treść przekazanej wiadomości",
    "Mensagem encaminhada", "Mensagem reencaminhada", "Mesaj redirecționat",
    "Přeposlaná zpráva", "Preposlaná správa", "Proslijeđena poruka", "İletilen İleti",
    "Перенаправленное сообщение", "Пересылаемое сообщение", "Переслане повідомлення",
    "メッセージを転送", "转发的邮件", "轉寄的郵件", "Message transmis", "Przekazana wiadomość",
    "İletilmiş Mesaj", "Перенаправлене повідомлення",
    # Outlook
    "Original Message", "Ursprüngliche Nachricht", "Message d'origine", "Mensaje original",
    "Messaggio originale", "Oorspronkelijk bericht", "Oprindelig meddelelse",
    "Opprinnelig melding", "Ursprungligt meddelande", "Alkuperäinen viesti", "Eredeti üzenet",
    "Oryginalna wiadomość", "Mensagem original", "Mesaj original", "Původní zpráva",
    "Pôvodná správa", "Izvorna poruka", "Orijinal İleti", "Özgün İleti", "Исходное сообщение",
    "Вихідне повідомлення", "元のメッセージ", "原始邮件",
)
SCAN_LINES = 400
WINDOW_LINES = 25
#: Only this much text, in lines of at most MAX_LINE_CHARS (RFC 5322's 998), is scanned: a
#: mail's cost stays linear whatever its lines look like.
MAX_SCAN_CHARS = 1 << 18
MAX_LINE_CHARS = 998

_alt = lambda words: "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))  # noqa: E731
_FROM_LINE = re.compile(rf"^\**(?:{_alt(FROM_LABELS)})\**\s*[:：]\s*(.*)", re.IGNORECASE)
_MARKER = re.compile(
    rf"^(?:-{{2,}}\s*(?:{_alt(FORWARD_MARKERS)})\s*[-/]"  # ---------- Forwarded message ---
    rf"|(?:{_alt(FORWARD_MARKERS)})\s*[:：]"  # Begin forwarded message:
    r"|_{10,}\s*$)",  # Outlook's rule above the original's headers
    re.IGNORECASE,
)
# Starts only where a run of local-part characters starts: searching stays linear.
_EMAIL = re.compile(r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_QUOTE = re.compile(r"^[\s>]*")


@dataclass(frozen=True)
class Forward:
    how: str  # what gave it away: "attached message" or the marker line
    sender: str | None  # the original sender's address (None when the forward names none)
    sender_line: str  # the From line as written, for evidence


def find_forward(text: str) -> Forward | None:
    """The forward in a body's text: a marker line, then a From line within 25 lines."""
    lines = [_QUOTE.sub("", line[:MAX_LINE_CHARS]).replace("\ufeff", "").strip()
             for line in text[:MAX_SCAN_CHARS].splitlines()[:SCAN_LINES]]
    for index, line in enumerate(lines):
        marker = _MARKER.match(line)
        if not marker:
            continue
        # Yahoo writes the original's headers on the marker line itself
        following = [line[marker.end():].lstrip("-_ ")] + lines[index + 1: index + WINDOW_LINES]
        for offset, candidate in enumerate(following):
            found = _FROM_LINE.match(candidate)
            if found:
                after = following[offset + 1] if offset + 1 < len(following) else ""
                return Forward(line[:80], _first_address(found.group(1), after), candidate[:200])
    return None


def is_quoted_message_marker(line: str) -> bool:
    """A forward or original-message marker line: below it, the mail quotes another one."""
    return _MARKER.match(_QUOTE.sub("", line).strip()) is not None


def is_quoted_from_line(line: str) -> bool:
    """A quoted header's "From: Name <address>" line, in any of the clients' languages."""
    found = _FROM_LINE.match(_QUOTE.sub("", line).strip())
    return found is not None and _EMAIL.search(found.group(1)) is not None


def _first_address(value: str, next_line: str) -> str | None:
    """The address on the From line, else on the line below (some clients wrap it)."""
    found = _EMAIL.search(value) or _EMAIL.search(next_line)
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


def forward_audit_notes(submitted_by: str | None, assigned_to: str | None) -> list[str]:
    """The audit lines of a conversation opened from an agent's forward; none for other mail."""
    if not (submitted_by and assigned_to and submitted_by != assigned_to):
        return []
    return [Phrase("Created via forward from {agent} on behalf of {sender}", agent=assigned_to, sender=submitted_by),
            Phrase("Assigned to {agent} (the forwarding agent)", agent=assigned_to)]


def attribute(message: InboundMessage, lookup: Lookup, external_requesters: bool = False,
              authenticity: Authenticity = NOT_CONFIGURED) -> Attribution:
    """Who submitted a new conversation, and whom it is assigned to (for agent forwards)."""
    outer = message.from_addr or None
    normal = Attribution(outer, None, "submitted by its sender")
    if authenticity.forged:  # an agent's address in a forged From grants nothing
        return Attribution(outer, None, f"submitted by its sender (From shown forged: {authenticity.evidence};"
                                        " any forwarded content is not trusted)")
    if not message.header_from or not lookup.is_active_user(message.header_from):  # the body is not read
        return Attribution(outer, None, "submitted by its sender (the From address is not an active "
                                        "internal user, so any forwarded content is not trusted)")
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
