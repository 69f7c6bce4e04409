"""What the site knows about the addresses on a mail: its own inboxes, its agents and light
agents, and the CC blocklist. Plain data, so the decisions about participants stay pure: the
router gathers it through the Lookup, an adapter may build it from its own records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable


def bare_address(address: str) -> str:
    """``Support+Tag@Help.Example`` -> ``support@help.example``: how the site's own inboxes are
    recognised (plus-addressed replies reach the inbox itself)."""
    local, _, domain = address.lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}" if local else address.lower()


def wildcard_match(pattern: str, text: str) -> bool:
    """Shell-style ``*`` (any run) and ``?`` (one character) over the whole text; every other
    character, ``[`` included, is literal. No regex: the two-pointer walk backtracks only to
    the last ``*``, so it is at most len(pattern) * len(text) steps whatever the input."""
    p = t = 0
    star, resume = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] == "*":
            star, resume, p = p, t, p + 1
        elif p < len(pattern) and pattern[p] in ("?", text[t]):
            p, t = p + 1, t + 1
        elif star >= 0:
            resume += 1
            p, t = star + 1, resume
        else:
            return False
    return all(c == "*" for c in pattern[p:])


def blocking_pattern(address: str, patterns: Iterable[str]) -> str | None:
    """The first CC blocklist pattern matching the whole address (case-insensitive), or None."""
    address = address.strip().lower()
    return next((p for p in patterns if p.strip() and wildcard_match(p.strip().lower(), address)), None)


@dataclass(frozen=True)
class Directory:
    """The site's view of the addresses on one mail (all lower-case).

    ``agents``: active internal users (Frappe: the Support Team role; CLI: ``[[user]]``);
    ``light_agents``: users who may only read and write internal notes (Frappe: the role
    PT Light Agent; CLI: ``light_agent = true``): a light agent counts as one whatever other
    roles they have. ``own_addresses``: the site's inboxes (compared without +tags).
    """

    own_addresses: frozenset[str] = frozenset()
    agents: frozenset[str] = frozenset()
    light_agents: frozenset[str] = frozenset()
    cc_blocklist: tuple[str, ...] = ()
    _own: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_own", frozenset(bare_address(a) for a in self.own_addresses))

    def is_own(self, address: str) -> bool:
        return bare_address(address) in self._own

    def is_internal(self, address: str) -> bool:
        return address.lower() in self.agents or address.lower() in self.light_agents

    def is_light_agent(self, address: str) -> bool:
        return address.lower() in self.light_agents

    def is_agent(self, address: str) -> bool:
        """An agent who may add CCs and reply publicly: active, and not a light agent."""
        return address.lower() in self.agents and not self.is_light_agent(address)

    def blocked_by(self, address: str) -> str | None:
        return blocking_pattern(address, self.cc_blocklist)

    @classmethod
    def gather(cls, addresses: Iterable[str], lookup, cc_blocklist: Iterable[str] = ()) -> "Directory":
        """Ask the Lookup about each address (a handful per mail: inbox, is_agent,
        is_light_agent, each an indexed or cached lookup)."""
        own, agents, light_agents = set(), set(), set()
        for address in {a.lower() for a in addresses if a}:  # one pass over a handful
            if lookup.inbox(bare_address(address)) is not None:
                own.add(address)
            if lookup.is_agent(address):
                agents.add(address)
            if lookup.is_light_agent(address):
                light_agents.add(address)
        return cls(own_addresses=frozenset(own), agents=frozenset(agents), light_agents=frozenset(light_agents),
                   cc_blocklist=tuple(cc_blocklist))
