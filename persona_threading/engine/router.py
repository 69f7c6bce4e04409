"""route(): walk THE chain, stop at the first match, record every attempt.

Rules never ask "did an earlier rule match?": precedence lives only in the order of
``rules.CHAIN``. The router is pure: it reads through the Lookup and never writes.
"""

from __future__ import annotations

from . import decision as act
from .authenticity import Authenticity, assess
from .carriers import Keyring
from .decision import Attempt, Decision, Match
from .duplicates import find_original, reused_id_defect
from .forwards import attribute
from .lookup import Inbox, Lookup
from .machine_mail import BULK, classify, is_silent
from .message import InboundMessage
from .participants import review_participants
from .participants.directory import bare_address
from .phrases import Phrase
from .policy import BULK_QUEUE, DEFAULT_POLICY, DISABLED_EVIDENCE, RoutingPolicy
from .rules import ROUTING_RULES, THREADING_RULES, RouteContext

__all__ = ["DEFAULT_POLICY", "RoutingPolicy", "resolve_inbox", "route"]


def resolve_inbox(message: InboundMessage, lookup: Lookup, address: str | None = None) -> Inbox | None:
    """The inbox that received the mail: the given address, else the first configured recipient."""
    candidates = [address] if address else list(message.delivered_to + message.to + message.cc)
    for candidate in candidates:
        inbox = lookup.inbox(bare_address(candidate))
        if inbox is not None:
            return inbox
    return None


def _walk(rules, message, ctx, attempts, exhaustive, decided=False):
    """Try rules in order; return the first (rule, Match), recording every attempt.

    ``decided``: an earlier walk already won, so matches here are shown but do not count.
    A rule the policy switches off is recorded as tried and not matched.
    """
    winner = None
    disabled = ctx.policy.disabled_rules
    for rule in rules:
        if rule.name in disabled:
            attempts.append(Attempt(rule.name, False, DISABLED_EVIDENCE))
            continue
        try:
            outcome = rule.match(message, ctx)
        except Exception as exc:  # a rule bug must not lose the mail: record it and go on
            outcome = None
            attempts.append(Attempt(rule.name, False, f"rule failed: {exc.__class__.__name__}: {exc}"))
            continue
        matched = isinstance(outcome, Match)
        counts = matched and winner is None and not decided
        evidence = outcome.evidence
        if matched and not counts:
            evidence = f"would match ({evidence}), but an earlier rule decided"
        attempts.append(Attempt(rule.name, counts, evidence))
        if counts:
            winner = (rule.name, outcome)
            if not exhaustive:
                break
    return winner


def route(
    message: InboundMessage,
    lookup: Lookup,
    keyring: Keyring,
    inbox_address: str | None = None,
    exhaustive: bool = False,
    policy: RoutingPolicy = DEFAULT_POLICY,
) -> Decision:
    """Decide where ``message`` belongs. ``exhaustive`` tries every rule (for explain).

    What the trusted Authentication-Results prove (engine.authenticity) and who the sender
    is to the conversation, who may read the mail and what it does to the participants
    (engine.participants) are decided beside the chain and recorded on the decision:
    ``authenticity``, ``sender_role``, ``visibility``, ``warning`` and ``participants``.
    """
    authenticity = assess(message, policy.trusted_authserv_ids)
    decision = _decide(message, lookup, keyring, inbox_address, exhaustive, policy, authenticity)
    decision.authenticity = authenticity.as_dict()
    review_participants(decision, message, lookup, policy.cc_blocklist, authenticity, policy.ccs_by_email)
    return decision


def _decide(message: InboundMessage, lookup: Lookup, keyring: Keyring, inbox_address: str | None,
            exhaustive: bool, policy: RoutingPolicy, authenticity: Authenticity) -> Decision:
    decision = Decision(message.message_id, act.NEW, "new", "", defects=list(message.defects))
    ctx = RouteContext(lookup, keyring, resolve_inbox(message, lookup, inbox_address), policy, authenticity)
    stored = lookup.messages_by_ids([message.message_id]) if message.message_id else []
    original = find_original(message, stored)
    if original:
        decision.action = decision.rule = act.DUPLICATE
        decision.conversation = original[0].conversation
        decision.evidence = f"Message-ID <{message.message_id}> was already stored ({original[1]})"
        if exhaustive:  # explain still shows what every rule would have said
            for rules in (THREADING_RULES, ROUTING_RULES):
                _walk(rules, message, ctx, decision.attempts, exhaustive, decided=True)
        return decision
    if stored:
        decision.defects.append(reused_id_defect(message.message_id, len(stored)))

    inbox = ctx.inbox
    attempts = decision.attempts
    own_inbox = lookup.inbox(bare_address(message.header_from)) if message.header_from else None
    outbound = own_inbox is not None and not authenticity.forged
    threaded = _walk(THREADING_RULES, message, ctx, attempts, exhaustive)

    if outbound:
        decision.action = decision.rule = act.OUTBOUND
        decision.conversation = threaded[1].conversation if threaded else None
        how = f"; threaded by {threaded[0]}: {threaded[1].evidence}" if threaded else "; starts a conversation"
        decision.evidence = f"sent from inbox {message.header_from}{how}"
        if exhaustive:
            _walk(ROUTING_RULES, message, ctx, attempts, exhaustive, decided=True)
        return decision
    if own_inbox is not None:
        decision.defects.append(f"From {message.header_from} is one of our inboxes but is shown forged"
                                f" ({authenticity.evidence}): routed as inbound mail, not as our own")

    machine = classify(message)  # threaded or not: the adapter must know it answers nothing
    decision.machine = machine.as_dict() if machine else None
    if threaded:
        decision.action, decision.rule = act.THREADED, threaded[0]
        decision.conversation, decision.evidence = threaded[1].conversation, threaded[1].evidence
        if not exhaustive:
            return decision

    silent = is_silent(machine)  # strong evidence only: suspected machine mail is routed
    routed = None
    if exhaustive or not silent:
        routed = _walk(ROUTING_RULES, message, ctx, attempts, exhaustive,
                       decided=bool(threaded or silent))
    if threaded:
        return decision
    if silent:  # an out-of-office or a bounce threads silently or nowhere: it never opens one
        decision.action, decision.rule = act.IGNORED, machine.kind
        decision.evidence = Phrase("machine-written mail ({kind}: {signal}) threads nowhere; stored, opens nothing",
                                   kind=machine.kind, signal=machine.signal)
        return decision
    if machine is not None and machine.kind == BULK and policy.bulk_mail_action == BULK_QUEUE:
        decision.action, decision.rule = act.QUEUED, "bulk_mail"
        if routed:
            decision.evidence = Phrase("bulk mail ({signal}) threads nowhere and bulk_mail_action is queue: waits for"
                                       " a reviewer; {rule} would have opened it ({evidence})", signal=machine.signal,
                                       rule=routed[0], evidence=routed[1].evidence)
        else:
            decision.evidence = Phrase("bulk mail ({signal}) threads nowhere and bulk_mail_action is queue: waits for"
                                       " a reviewer", signal=machine.signal)
    elif routed:
        decision.rule, decision.project, decision.evidence = routed[0], routed[1].project, routed[1].evidence
    elif inbox is not None and inbox.has_scopes:
        decision.action, decision.rule = act.QUEUED, "manual_queue"
        decision.evidence = Phrase("no rule matched; inbox {inbox} has project scopes but no route",
                                   inbox=inbox.address)
    else:
        where = f"inbox {inbox.address}" if inbox else "an unconfigured address"
        decision.evidence = f"no rule matched; {where} has no project scopes"
    if decision.action in (act.NEW, act.QUEUED):  # a queued forward keeps its attribution
        who = attribute(message, lookup, policy.external_forward_requesters, authenticity)
        decision.submitted_by, decision.assigned_to = who.submitted_by, who.assigned_to
        decision.attribution = who.evidence if who.forwarded else None
    return decision
