"""The ONE decision of who the sender is to the conversation and who may read the mail.

``public``: shown to the conversation's people (requester, CCs); ``private``: an internal
note, for agents only. The requester's and an active CC's mail is public. An agent's or a
follower's reply is public only when the requester or an active CC is among its recipients
(Reply-all), else an internal note (a Reply to the helpdesk only). A light agent's mail is
never public. A third party's reply (not the requester, a CC, a follower or an agent) is
private even when it copies the requester, and raises a warning until an agent acts. Agent
status needs an unforged From (engine.authenticity); a shown-forged From has no standing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import decision as act
from ..machine_mail import is_silent
from ..message import InboundMessage
from ..phrases import Phrase
from .directory import Directory
from .roles import (AGENT, ASSIGNEE, CC, FOLLOWER, PRIVATE, PUBLIC, REQUESTER, SENDER_AGENT, SENDER_CC,
                    SENDER_FOLLOWER, SENDER_LIGHT_AGENT, SENDER_REQUESTER, SENDER_THIRD_PARTY, THIRD_PARTY,
                    Roster)

OPENING_ACTIONS = (act.NEW, act.QUEUED)


@dataclass(frozen=True)
class Standing:
    """What the sender is to the conversation the mail lands in, and who may read the mail.
    ``warning``: what the conversation shows until an agent acts (a third party's reply)."""

    role: str
    visibility: str
    evidence: str
    warning: str | None = None


def is_silent_machine_mail(decision) -> bool:
    """An auto-reply or bounce on strong evidence: it threads silently, so it changes nobody
    and warns nobody (suspected machine mail counts as a person's)."""
    return is_silent(decision.machine)


def third_party_warning(message: InboundMessage) -> Phrase:
    """"reply from a third party: NAME <addr>" (just the address without a display name)."""
    name = message.from_name.strip()
    who = f"{name} <{message.from_addr}>" if name else message.from_addr
    return Phrase("reply from a third party: {who}", who=who)


def standing_of(decision, message: InboundMessage, roster: Roster, directory: Directory,
                forged: bool = False) -> Standing | None:
    """The standing of the From header's address (never Sender/Return-Path) for a routed
    mail, given the participants of the conversation it lands in; None for a duplicate,
    which stores nothing."""
    if decision.action == act.DUPLICATE:
        return None
    sender = message.header_from
    if forged:
        return Standing(SENDER_THIRD_PARTY, PRIVATE, f"From {sender or '(none)'} is shown forged: no standing",
                        _warning(decision, message))
    if not sender:
        return Standing(SENDER_THIRD_PARTY, PRIVATE, "no single From address: no standing")
    if decision.action == act.OUTBOUND:
        return Standing(SENDER_AGENT, PUBLIC, f"sent from inbox {sender}")
    if directory.is_light_agent(sender):
        return Standing(SENDER_LIGHT_AGENT, PRIVATE, f"{sender} is a light agent: their mail is an internal"
                                                     " note, never public")
    if decision.action in OPENING_ACTIONS:
        if directory.is_agent(sender):
            return Standing(SENDER_AGENT, PUBLIC, f"{sender} is an active internal user")
        return Standing(SENDER_REQUESTER, PUBLIC, f"{sender} opens the conversation")
    where = f"conversation {decision.conversation}"
    if decision.conversation is None:
        return Standing(SENDER_THIRD_PARTY, PRIVATE, "threads nowhere")
    person = roster.get(sender)
    stored = roster.active_role(sender)
    if stored in (REQUESTER, CC):
        return Standing(SENDER_REQUESTER if stored == REQUESTER else SENDER_CC, PUBLIC,
                        f"{sender} is the {stored} of {where}")
    if directory.is_agent(sender) or stored in (FOLLOWER, ASSIGNEE, AGENT):
        role = SENDER_AGENT if directory.is_agent(sender) else SENDER_FOLLOWER
        reached = roster.customers_among(message.to + message.cc)
        if reached:
            return Standing(role, PUBLIC, f"{sender} ({role}) wrote to {', '.join(reached)}: a reply to the"
                                          " requester or an active CC is public")
        return Standing(role, PRIVATE, f"{sender} ({role}) wrote to neither the requester nor an active CC"
                                       f" of {where}: an internal note")
    if person is None and roster.requester is None and not is_silent_machine_mail(decision):
        return Standing(SENDER_REQUESTER, PUBLIC, f"{sender} is the first to write in to {where},"
                                                  " which has no requester yet")
    if person is None:
        why = "is not a participant"
    elif not person.active:
        why = f"was removed from the {person.role}s (inactive)"
    else:
        why = f"joined as a {THIRD_PARTY} (wrote in uninvited)"
    return Standing(SENDER_THIRD_PARTY, PRIVATE, f"{sender} {why} of {where}: a third party's reply is private",
                    _warning(decision, message))


def _warning(decision, message: InboundMessage) -> str | None:
    """Only a person's reply on an existing conversation needs an agent's attention."""
    if decision.action != act.THREADED or is_silent_machine_mail(decision):
        return None
    return third_party_warning(message)
