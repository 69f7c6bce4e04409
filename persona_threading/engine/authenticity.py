"""What the site's own receiving servers say about the From domain (RFC 8601).

Anyone can write an ``Authentication-Results`` header, so only headers whose authserv-id is
in the site's trusted list count (RFC 8601 section 5: others are ignored), and of those only
the topmost one: the last hop, our own server, wrote it. The verdict is about the From
header's domain:

- ``forged``: ``dmarc=fail``, or ``spf=fail`` / ``dkim=fail`` without any aligned pass;
- ``authenticated``: ``dmarc=pass``, or an aligned ``dkim=pass`` (``header.d`` / ``header.i``)
  or ``spf=pass`` (``smtp.mailfrom``) and nothing above;
- ``unverified``: nothing trusted says either way.

Privileged decisions (agent status, forward unwrapping, the helpdesk's own outbound mail)
are refused only for ``forged``: most sites' mail is ``unverified`` and must keep working.
Alignment is kept simple: the same domain, or one a subdomain of the other. Bounded (at
most MAX_RESULT_HEADERS headers, each already capped by the parser; one linear scan each)
and never raises.
"""

from __future__ import annotations

from dataclasses import dataclass

from .message import InboundMessage

FORGED, AUTHENTICATED, UNVERIFIED = "forged", "authenticated", "unverified"
HEADER = "Authentication-Results"
#: Only the topmost headers are read: ours are on top, anything below came with the mail.
MAX_RESULT_HEADERS = 32


@dataclass(frozen=True)
class Authenticity:
    """The verdict on the From domain, and the evidence (which header, which results)."""

    verdict: str
    evidence: str

    @property
    def forged(self) -> bool:
        return self.verdict == FORGED

    def as_dict(self) -> dict:
        return {"verdict": self.verdict, "evidence": self.evidence}


NOT_CONFIGURED = Authenticity(UNVERIFIED, "no trusted authserv-id configured: Authentication-Results are not read")


@dataclass(frozen=True)
class MethodResult:
    """One ``method=result`` of an Authentication-Results header, with its properties."""

    method: str  # dkim, spf, dmarc, ... (lower case, version dropped)
    result: str  # pass, fail, none, ... (lower case)
    properties: dict  # "header.d" -> "example.com", lower-case keys


def assess(message: InboundMessage, trusted_authserv_ids: tuple[str, ...]) -> Authenticity:
    """The verdict on ``message``'s From domain from the topmost trusted header."""
    if not trusted_authserv_ids:
        return NOT_CONFIGURED
    try:
        return _assess(message, {i.strip().lower() for i in trusted_authserv_ids if i.strip()})
    except Exception as exc:  # a bug here must not lose the mail: unverified, and say why
        return Authenticity(UNVERIFIED, f"Authentication-Results unreadable ({exc.__class__.__name__})")


def _assess(message: InboundMessage, trusted: set[str]) -> Authenticity:
    ignored = 0
    for value in message.raw_header_values(HEADER)[:MAX_RESULT_HEADERS]:
        authserv_id, results = parse_authentication_results(value)
        if authserv_id in trusted:
            return verdict_for(message.header_from, authserv_id, results, ignored)
        ignored += 1
    return Authenticity(UNVERIFIED, f"no {HEADER} from a trusted authserv-id"
                        + (f" ({ignored} from others ignored)" if ignored else ""))


def verdict_for(author: str, authserv_id: str, results: list[MethodResult], ignored: int = 0) -> Authenticity:
    """The verdict on ``author``'s domain from one trusted header's results."""
    domain = author.rpartition("@")[2]
    source = f"{HEADER} of {authserv_id}" + (f" ({ignored} untrusted above it ignored)" if ignored else "")
    said = ", ".join(f"{r.method}={r.result}" for r in results) or "no results"
    failed = [r for r in results if r.result == "fail" and r.method in ("dmarc", "spf", "dkim")]
    passed = [r for r in results if r.result == "pass" and _proves(r, domain)]
    if any(r.method == "dmarc" for r in failed):
        return Authenticity(FORGED, f"{source}: dmarc=fail for From {author or '(none)'} ({said})")
    if failed and not passed:
        return Authenticity(FORGED, f"{source}: {', '.join(f'{r.method}=fail' for r in failed)} and no pass"
                                    f" aligned with From {author or '(none)'} ({said})")
    if passed:
        return Authenticity(AUTHENTICATED, f"{source}: {_describe(passed[0])} aligned with From {author} ({said})")
    return Authenticity(UNVERIFIED, f"{source}: nothing proves or disproves From {author or '(none)'} ({said})")


def _proves(result: MethodResult, domain: str) -> bool:
    """A pass that vouches for the From domain: DMARC, or DKIM/SPF for an aligned domain."""
    if not domain:
        return False
    if result.method == "dmarc":
        return _aligned(result.properties.get("header.from", domain), domain)
    if result.method == "dkim":
        signer = result.properties.get("header.d") or result.properties.get("header.i", "")
        return _aligned(signer.rpartition("@")[2], domain)
    if result.method == "spf":
        return _aligned(result.properties.get("smtp.mailfrom", "").rpartition("@")[2], domain)
    return False


def _describe(result: MethodResult) -> str:
    shown = " ".join(f"{k}={v}" for k, v in result.properties.items()
                     if k in ("header.d", "header.i", "smtp.mailfrom", "header.from"))
    return f"{result.method}=pass" + (f" {shown}" if shown else "")


def _aligned(one: str, other: str) -> bool:
    """The same domain, or one a subdomain of the other (relaxed alignment without a public
    suffix list: the shorter must still have a dot, so a bare TLD never aligns)."""
    one, other = one.strip().strip(".").lower(), other.strip().strip(".").lower()
    if not one or not other:
        return False
    if one == other:
        return True
    shorter, longer = sorted((one, other), key=len)
    return "." in shorter and longer.endswith("." + shorter)


def parse_authentication_results(value: str) -> tuple[str, list[MethodResult]]:
    """``(authserv-id, results)`` of one header value; comments dropped, quoting honoured."""
    segments: list[list[str]] = [[]]
    for token in _tokens(value):
        if token == ";":
            segments.append([])
        else:
            segments[-1].append(token)
    head = segments[0]
    authserv_id = head[0].lower() if head and head[0] != "=" else ""
    results = []
    for segment in segments[1:]:
        pairs = _pairs(segment)
        if not pairs:
            continue  # "none", or junk
        (method, result), properties = pairs[0], pairs[1:]
        results.append(MethodResult(method.lower().partition("/")[0], result.lower(),
                                    {k.lower(): v for k, v in properties if "." in k}))
    return authserv_id, results


def _pairs(tokens: list[str]) -> list[tuple[str, str]]:
    """``word = word`` pairs in order; anything else is skipped."""
    pairs, i = [], 0
    while i < len(tokens):
        if i + 2 < len(tokens) and tokens[i + 1] == "=" and tokens[i] != "=" and tokens[i + 2] != "=":
            pairs.append((tokens[i], tokens[i + 2]))
            i += 3
        else:
            i += 1
    return pairs


def _tokens(value: str) -> list[str]:
    """Words, quoted strings, ``;`` and ``=``; comments and whitespace separate. One pass."""
    tokens: list[str] = []
    word: list[str] = []
    depth = 0  # inside (nested) comments
    quoted = escaped = False

    def flush():
        if word:
            tokens.append("".join(word))
            word.clear()

    for char in value:
        if escaped:
            escaped = False
            if quoted:
                word.append(char)
        elif char == "\\" and (quoted or depth):
            escaped = True
        elif depth:
            depth += {"(": 1, ")": -1}.get(char, 0)
        elif quoted:
            if char == '"':
                quoted = False
                tokens.append("".join(word))
                word.clear()
            else:
                word.append(char)
        elif char == '"':
            flush()
            quoted = True
        elif char == "(":
            flush()
            depth = 1
        elif char in ";=":
            flush()
            tokens.append(char)
        elif char.isspace():
            flush()
        else:
            word.append(char)
    flush()
    return tokens
