"""Which kind of machine-written mail a message is: auto_reply, bounce, bulk, or None (human).

RFC 3834 says machine mail must not be *answered* automatically; it does not say it must
not become a ticket. So the kinds differ in what they do (engine.router):

- ``auto_reply`` (out-of-office, autoresponders, read receipts) and ``bounce`` (delivery
  status notifications), on strong evidence, thread silently onto their conversation, or
  are stored without opening anything: they never change a status and are never answered.
- ``bulk`` (newsletters, list mail, notifications) is real work for a helpdesk: it is
  routed like any mail, but never answered automatically.

Only STRONG evidence makes a mail silent (``is_silent``), because a silent mail that
threads nowhere is seen by nobody. Weak evidence makes it *suspected* (``suspected`` is
True): it is routed like a person's mail (opens or threads a conversation, changes
statuses) and is only never answered automatically.

Signals are tried strongest first, so one message has one kind and a strong signal wins
over a weak one whatever the header order:

1. Strong (silent). Structural proof first: a report (RFC 3464/6522 multipart/report; a
   read receipt, report-type=disposition-notification, is an auto_reply, any other report
   a bounce), ``X-Failed-Recipients``, a mailer-daemon/postmaster sender (From or
   Return-Path), a null From ``<>``. Then what an autoresponder declares:
   ``Auto-Submitted: auto-replied`` or ``auto-notified``, ``X-Autoreply``,
   ``X-Autorespond``, ``X-Autoresponder``, ``X-Auto-Reply``, ``X-Auto-Generated`` (Frappe
   Helpdesk's acknowledgements), ``Precedence: auto_reply``. Last a null Return-Path
   ``<>`` (only a mail system or an autoresponder sends with a null envelope sender): a
   bounce, or an auto_reply when the subject also reads like one. So a DSN or a
   mailer-daemon's mail is a bounce even when it says ``Auto-Submitted: auto-replied``
   (Exim's bounces do), and a vacation notice with a null Return-Path is an auto_reply.
2. List mail (bulk): List-Id, List-Unsubscribe, List-Post, ``Precedence: list``. They beat
   subjects: a human post on a list titled "Out of office" stays list mail.
3. Weak (suspected auto_reply or bounce, routed like a person's mail): an autoresponder's
   subject ("Automatic reply:", "Abwesenheitsnotiz:", ...) or a delivery-failure subject
   ("Undeliverable:", ...): "On vacation - lost my passport, please help" is a customer's
   first mail as often as a vacation notice. A subject beats the remaining bulk marks,
   ``Precedence: bulk|junk``, any other ``Auto-Submitted`` but ``no`` and a no-reply
   sender (vacation programs and MTAs send those too), only to name the kind: both are
   routed and never answered. Weakest of all, a lone ``X-Auto-Response-Suppress: All``
   (Outlook and Exchange put it on ordinary mail too) makes a suspected auto_reply.

Everything here is linear in the size of the header block (bounded body reads for DSNs)
and never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import compat32

from .message import InboundMessage

AUTO_REPLY, BOUNCE, BULK = "auto_reply", "bounce", "bulk"
KINDS = (AUTO_REPLY, BOUNCE, BULK)
#: The kinds that, on strong evidence (``is_silent``), never open a conversation, never
#: change a status and are never answered.
SILENT_KINDS = frozenset({AUTO_REPLY, BOUNCE})

#: At most this much of a message is parsed to find its bounced recipients.
MAX_DSN_BYTES = 1 << 20
#: At most this many MIME parts are walked, and this many recipients reported.
MAX_DSN_PARTS = 200
MAX_BOUNCES = 100
#: A bounce reason (Diagnostic-Code text) is cut to this many characters.
MAX_REASON_CHARS = 500
_SHOWN_VALUE = 80  # of a header value quoted as the signal


@dataclass(frozen=True)
class MachineMail:
    """A kind of machine mail and the signal that shows it (evidence): proof, or with
    ``suspected`` only a suspicion."""

    kind: str
    signal: str
    suspected: bool = False  # weak evidence only: routed like a person's mail, never answered

    def as_dict(self) -> dict:
        return {"kind": self.kind, "signal": self.signal, "suspected": self.suspected}


def is_silent(machine: dict | MachineMail | None) -> bool:
    """Whether machine mail (a classification, or its ``as_dict()`` on a decision) is silent:
    an auto_reply or bounce on strong evidence never opens a conversation, changes no status
    and is never answered. Suspected machine mail and bulk are routed like any mail."""
    if isinstance(machine, MachineMail):
        kind, suspected = machine.kind, machine.suspected
    elif isinstance(machine, dict):
        kind, suspected = machine.get("kind"), machine.get("suspected")
    else:
        return False
    return isinstance(kind, str) and kind in SILENT_KINDS and not suspected


@dataclass(frozen=True)
class Bounce:
    """One recipient a delivery status notification reports as failed."""

    address: str
    status: str  # the DSN status code, e.g. "5.1.1" ("" when the report has none)
    reason: str  # the Diagnostic-Code text, e.g. "550 5.1.1 User unknown" ("" when absent)


# Senders only a mail system uses: MTAs' daemons, MDaemon, a postmaster (in From, or as
# the envelope sender in Return-Path, which no person's mail has).
_SYSTEM_LOCAL_PART = re.compile(r"(?:mailer[-_]?daemon|mail[-_]daemon|mdaemon|post_?master)\b", re.IGNORECASE)
# "From: MAILER-DAEMON (Mail Delivery System)" has no address for the parser to keep.
_SYSTEM_SENDER_TEXT = re.compile(r"\b(?:mailer[-_]?daemon|postmaster)\b", re.IGNORECASE)
_NO_REPLY_LOCAL_PART = re.compile(r"(?:no[-_.]?reply|do[-_.]?not[-_.]?reply)\b", re.IGNORECASE)
_REPORT_TYPE = re.compile(r"""report-type\s*=\s*"?([A-Za-z0-9._-]{1,64})""", re.IGNORECASE)

# Subjects are weak evidence (a suspicion, never silence). A phrase counts only at the very
# start (after at most a few brackets) and only when a separator (":", "(", "[", "- ") or
# the end follows: "Automatic reply: Printer" is an autoresponder's, "Automatic reply not
# working in Outlook" is a person asking for help. Phrases a customer could write as a
# whole subject ("Delivery failure" to a shop) are left out: a suspected mail still opens
# its ticket, but gets no automatic acknowledgement.
_LEAD = r"^[\s\[(]{0,4}(?:"
_END = r")(?:\s+(?:auto-?reply|reply|notice|message|notification))?\s*(?:[:：(\[<]|[-–]\s|$)"
_AUTO_REPLY_SUBJECT = re.compile(_LEAD + "|".join((
    r"automatic\s+reply", r"auto[-\s]?reply", r"auto[-\s]?response", r"autoresponder", r"auto(?=\s*:)",
    r"out\s+of\s+(?:the\s+)?office", r"ooo", r"on\s+vacation",
    r"abwesenheitsnotiz", r"abwesenheitsnachricht", r"automatische\s+antwort",
    r"r[ée]ponse\s+automatique", r"absente?\s+du\s+bureau",
    r"respuesta\s+autom[áa]tica", r"fuera\s+de\s+(?:la\s+)?oficina",
    r"risposta\s+automatica", r"fuori\s+ufficio",
    r"automatisch\s+antwoord", r"afwezig",
    r"resposta\s+autom[áa]tica", r"fora\s+do\s+escrit[óo]rio",
    r"autosvar", r"automaattinen\s+vastaus", r"odpowied[źz]\s+automatyczna",
    r"automatick[áa]\s+odpov[ěe][ďd]", r"автоматический\s+ответ", r"автоответ",
    r"自動応答", r"自動返信", r"自动回复", r"自動回覆", r"자동\s*응답", r"otomatik\s+yan[ıi]t",
)) + _END, re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(_LEAD + "|".join((
    r"undeliverable", r"undelivered\s+mail(?:\s+returned\s+to\s+sender)?", r"non[-\s]?delivery",
    r"delivery\s+status\s+notification", r"permanent\s+delivery\s+failure", r"mail\s+delivery\s+(?:failed|failure|warning|problem)",
    r"mail\s+could\s+not\s+be\s+delivered", r"message\s+not\s+delivered", r"returned\s+mail",
    r"failure\s+notice", r"warning:\s+could\s+not\s+send\s+message\s+for\s+past",
    r"complaint\s+about\s+message\s+from\s+[0-9a-f.:]{3,45}",  # Microsoft's junk-mail reporting (JMRP)
    r"unzustellbar", r"nicht\s+zustellbar", r"non\s+remis", r"onbestelbaar", r"non\s+recapitabile",
    r"no\s+se\s+puede\s+entregar", r"メールエラー通知", r"未配信", r"配信不能", r"退信",
)) + _END, re.IGNORECASE)

# Explicit autoresponder headers; X-Auto-Generated is what Frappe Helpdesk stamps on its
# acknowledgements and feedback mails (another helpdesk answering ours: never a ticket).
_AUTO_REPLY_HEADERS = (("x-autoreply", "X-Autoreply"), ("x-autorespond", "X-Autorespond"),
                       ("x-autoresponder", "X-Autoresponder"), ("x-auto-reply", "X-Auto-Reply"),
                       ("x-auto-generated", "X-Auto-Generated"))
_SIGNAL_HEADERS = frozenset({
    "content-type", "x-failed-recipients", "auto-submitted", "x-auto-response-suppress",
    "precedence", "x-precedence", "return-path", "list-id", "list-unsubscribe", "list-post",
    *(name for name, _ in _AUTO_REPLY_HEADERS)})


def _shown(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= _SHOWN_VALUE else value[:_SHOWN_VALUE] + "…"


def classify(message: InboundMessage) -> MachineMail | None:
    """The kind of machine mail ``message`` is, with its signal; None for a person's mail."""
    try:
        return _classify(message)
    except Exception:  # pragma: no cover - a classifier bug must not lose the mail
        return None


def _classify(message: InboundMessage) -> MachineMail | None:
    present = _SIGNAL_HEADERS.intersection(message.header_names)

    def value(name: str) -> str:
        return (message.header(name) or "").strip() if name.lower() in present else ""

    auto_submitted = value("Auto-Submitted").lower()
    precedence_name = "Precedence" if "precedence" in present else "X-Precedence"
    precedence = value(precedence_name).lower()
    subject = message.subject
    # 1. Strong: a mail system's or an autoresponder's own mark. Silent (never a ticket).
    content_type = value("Content-Type")
    if content_type[:16].lower() == "multipart/report":  # RFC 6522 report, incl. RFC 3464 DSNs
        report = _REPORT_TYPE.search(content_type[:1000])
        report_type = report.group(1).lower() if report else ""
        if report_type == "disposition-notification":  # a read receipt answers our mail
            return MachineMail(AUTO_REPLY, "read receipt (multipart/report; report-type=disposition-notification)")
        return MachineMail(BOUNCE, f"delivery report (multipart/report; report-type={report_type or 'missing'})")
    if value("X-Failed-Recipients"):  # what only an MTA writes
        return MachineMail(BOUNCE, f"X-Failed-Recipients: {_shown(value('X-Failed-Recipients'))}")
    system = _system_sender(message)
    if system:
        return MachineMail(BOUNCE, f"sent by {system}")
    if (message.header("From") or "").rstrip().endswith("<>"):
        return MachineMail(BOUNCE, "null From address (<>): sent by a mail system")
    if auto_submitted.startswith(("auto-replied", "auto-notified")):  # RFC 3834, RFC 5436
        return MachineMail(AUTO_REPLY, f"Auto-Submitted: {_shown(auto_submitted)}")
    for name, shown in _AUTO_REPLY_HEADERS:
        if name in present and value(shown).lower() not in ("no", "false", "0"):
            return MachineMail(AUTO_REPLY, f"{shown}: {_shown(value(shown)) or '(empty)'}")
    if precedence in ("auto_reply", "auto-reply"):
        return MachineMail(AUTO_REPLY, f"{precedence_name}: {precedence}")
    if value("Return-Path") == "<>":  # a null envelope sender: a DSN, or an RFC 3834 autoresponder
        if _AUTO_REPLY_SUBJECT.match(subject):
            return MachineMail(AUTO_REPLY, f"null Return-Path (<>) and subject {_shown(subject)!r}"
                                           " is an autoresponder's")
        return MachineMail(BOUNCE, "null Return-Path (<>): sent by a mail system")
    # 2. List mail: routed like any mail, so a human post is never lost to a subject guess.
    for name in ("List-Id", "List-Unsubscribe", "List-Post"):
        if value(name):
            return MachineMail(BULK, f"{name}: {_shown(value(name))}")
    if precedence == "list":
        return MachineMail(BULK, f"{precedence_name}: list")
    # 3. Weak: what a person could write too. Suspected: routed like any mail, never answered.
    # A subject names the kind better than the bulk marks below, which vacation programs and
    # MTAs send too (Precedence: junk, a no-reply sender); it decides nothing more.
    if _AUTO_REPLY_SUBJECT.match(subject):
        return MachineMail(AUTO_REPLY, f"subject {_shown(subject)!r} looks like an autoresponder's", True)
    if _BOUNCE_SUBJECT.match(subject):
        return MachineMail(BOUNCE, f"subject {_shown(subject)!r} looks like a delivery failure notice", True)
    if precedence in ("bulk", "junk"):
        return MachineMail(BULK, f"{precedence_name}: {precedence}")
    if auto_submitted and not auto_submitted.startswith("no"):
        return MachineMail(BULK, f"Auto-Submitted: {_shown(auto_submitted)}")
    if _NO_REPLY_LOCAL_PART.match(message.from_addr):
        return MachineMail(BULK, f"sent from a no-reply address ({message.from_addr})")
    if value("X-Auto-Response-Suppress").lower() == "all":  # weakest: ordinary Outlook mail has it
        return MachineMail(AUTO_REPLY, "X-Auto-Response-Suppress: All (Outlook and Exchange set it on"
                                       " ordinary mail too)", True)
    return None


def _system_sender(message: InboundMessage) -> str | None:
    """The mailer-daemon/postmaster sender, when the mail comes from one."""
    if _SYSTEM_LOCAL_PART.match(message.from_addr):
        return message.from_addr
    return_path = (message.header("Return-Path") or "")[:200].strip().strip("<>")
    if _SYSTEM_LOCAL_PART.match(return_path):
        return f"{return_path} (Return-Path)"
    if not message.from_addr:  # "From: MAILER-DAEMON" without a domain
        raw_from = (message.header("From") or "")[:200]
        found = _SYSTEM_SENDER_TEXT.search(raw_from)
        if found:
            return found.group(0)
    return None


def bounced_recipients(message: InboundMessage) -> list[Bounce]:
    """The recipients a DSN reports as failed, read from its message/delivery-status parts.

    A recipient counts when its ``Action`` is ``failed``, or when there is no Action and
    its Status is permanent (5.x.x): a delay notice is not a bounce. Without any
    delivery-status part, Exim's ``X-Failed-Recipients`` header is used. Work is bounded
    (``MAX_DSN_BYTES``, ``MAX_DSN_PARTS``, ``MAX_BOUNCES``) and nothing raises.
    """
    try:
        return _bounced_recipients(message)
    except Exception:  # pragma: no cover - the stdlib parser is forgiving; belt and braces
        return []


def _bounced_recipients(message: InboundMessage) -> list[Bounce]:
    raw = message.raw[:MAX_DSN_BYTES]
    lowered = raw.lower()
    found: list[Bounce] = []
    if b"delivery-status" in lowered:
        parsed = BytesParser(policy=compat32).parsebytes(raw)
        for number, part in enumerate(parsed.walk()):
            if number >= MAX_DSN_PARTS or len(found) >= MAX_BOUNCES:
                break
            if part.get_content_type() == "message/delivery-status":
                found.extend(_failed(_blocks_of(part)))
    if not found and b"final-recipient:" in lowered:  # a DSN whose MIME structure is broken
        found = _failed(_text_blocks(raw.decode("utf-8", "replace")))
    if not found:
        failed = message.header("X-Failed-Recipients") or ""
        for address in failed[:4096].split(","):
            address = address.strip().strip("<>")
            if "@" in address:
                found.append(Bounce(address.lower(), "", "X-Failed-Recipients"))
    return _unique(found)[:MAX_BOUNCES]


def _blocks_of(part) -> list[dict[str, str]]:
    """The field blocks of one message/delivery-status part (per-message, then per-recipient)."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the stdlib splits the part into header blocks
        return [{k.lower(): str(v) for k, v in block.items()} for block in payload[:MAX_BOUNCES + 1]
                if hasattr(block, "items")]
    payload = part.get_payload(decode=True) or b""  # e.g. base64: split the blocks ourselves
    return _text_blocks(payload[:MAX_DSN_BYTES].decode("utf-8", "replace"))


def _text_blocks(text: str) -> list[dict[str, str]]:
    """Blank-line separated field blocks that name a recipient."""
    blocks = re.split(r"\n[ \t]*\r?\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    return [_fields_of(block) for block in blocks if "recipient:" in block.lower()][:MAX_BOUNCES + 1]


def _failed(blocks: list[dict[str, str]]) -> list[Bounce]:
    """The recipients these blocks report as failed (``Action: failed``, or permanent Status)."""
    bounces = []
    for fields in blocks:
        address = _address_of(fields.get("original-recipient", "")) or _address_of(fields.get("final-recipient", ""))
        if not address:
            continue
        status = " ".join(fields.get("status", "").split())[:32]
        action = fields.get("action", "").strip().lower()
        if action.startswith("fail") or (not action and status.startswith("5")):
            reason = " ".join(fields.get("diagnostic-code", "").split())
            if ";" in reason[:20]:  # "smtp; 550 ..." -> "550 ..."
                reason = reason.split(";", 1)[1].strip()
            bounces.append(Bounce(address, status, reason[:MAX_REASON_CHARS]))
    return bounces


def _fields_of(block: str) -> dict[str, str]:
    """``Name: value`` lines of one DSN block (continuation lines joined)."""
    fields: dict[str, str] = {}
    last = None
    for line in block.splitlines()[:200]:
        if line[:1] in (" ", "\t") and last:
            fields[last] += " " + line.strip()
        elif ":" in line:
            name, _, val = line.partition(":")
            last = name.strip().lower()
            fields.setdefault(last, val.strip())
    return fields


def _address_of(value: str) -> str:
    """``rfc822; user@example.com`` -> ``user@example.com`` ("" when there is none)."""
    address = value.split(";", 1)[-1].strip().strip("<>").strip()
    return address.lower() if "@" in address and " " not in address else ""


def _unique(bounces: list[Bounce]) -> list[Bounce]:
    seen: set[str] = set()
    return [b for b in bounces if not (b.address in seen or seen.add(b.address))]
