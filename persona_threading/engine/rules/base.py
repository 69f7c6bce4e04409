"""What every rule receives, and helpers the carrier rules share."""

from __future__ import annotations

from dataclasses import dataclass

from ..authenticity import NOT_CONFIGURED, Authenticity
from ..carriers import Keyring
from ..decision import Match, Miss
from ..lookup import Inbox, Lookup
from ..policy import DEFAULT_POLICY, RoutingPolicy


@dataclass(frozen=True)
class RouteContext:
    """Everything a rule may consult besides the message itself."""

    lookup: Lookup
    keyring: Keyring
    inbox: Inbox | None = None
    policy: RoutingPolicy = DEFAULT_POLICY
    authenticity: Authenticity = NOT_CONFIGURED  # what trusted Authentication-Results prove


def match_tokens(tokens: list[str], where: str, ctx: RouteContext) -> Match | Miss | None:
    """Verify found tokens in order; the first genuine one naming a conversation matches.

    Returns None when no token was found, so the caller can look in the next place.
    """
    if not tokens:
        return None
    problems = []
    for token in tokens:
        verified = ctx.keyring.verify(token)
        if not verified.ok:
            problems.append(f"{where} token {token}: {verified.reason}")
            continue
        conversation = ctx.lookup.conversation_by_key(verified.key)
        if conversation is None:
            problems.append(f"{where} token {token}: signature valid but no conversation has it")
            continue
        return Match(f"{where} token {token} ({verified.reason})", conversation=conversation)
    return Miss("; ".join(problems))


def first_threaded(stored, header: str, ids) -> Match | Miss:
    """The newest stored message that belongs to a conversation (``stored`` is newest first)."""
    for message in stored:
        if message.conversation is not None:
            others = len({m.conversation for m in stored if m.conversation}) - 1
            tie = f"; newest of {others + 1} matching conversations" if others else ""
            return Match(f"{header} <{message.message_id}> is a stored message{tie}",
                         conversation=message.conversation)
    if stored:
        return Miss(f"{header} <{stored[0].message_id}> is stored but waits in the manual queue")
    return Miss(f"none of {len(ids)} {header} id(s) is a stored message")
