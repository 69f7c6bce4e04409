"""What a decision means, in words an agent reads: one sentence per mail and its badges.

Rule ids, tokens and Message-IDs stay in "Why here?"; the timeline and the dialog's first
line speak of what happened ("Threaded: it answers a mail of this conversation"). Every
sentence is an English template with named parameters, so the adapter translates it at
render time (Frappe's ``_()``) and the stored decision stays data, never English prose.
"""

from __future__ import annotations

#: The sentence for the rule that decided (``{doctype}``, ``{project}`` are filled in).
RULE_SENTENCES = {
    "token": "Threaded: the reply carries this conversation's reference",
    "ticket_tag": "Threaded: the reply quotes our ticket tag",
    "subject_tag": "Threaded: the subject carries this ticket's tag",
    "plus_address": "Threaded: sent to this ticket's own reply address",
    "in_reply_to": "Threaded: it answers a mail of this conversation",
    "references": "Threaded: it refers to a mail of this conversation",
    "thread_index": "Threaded: Outlook's conversation thread belongs here",
    "prefix": "Opened in project {project}: the subject starts with its prefix",
    "single_scope": "Opened in project {project}: the only project of this inbox",
    "default_project": "Opened in project {project}: the inbox's default landing project",
    "new": "Opened this {doctype}: a new request",
    "queue_attach": "Attached from the inbound queue by a reviewer",
    "queue_new": "Opened from the inbound queue by a reviewer",
    "processing_failed": "Stored as it arrived for a reviewer: it could not be processed",
    "manual_queue": "Waiting in the inbound queue: no rule could route it",
    "flood_guard": "Waiting in the inbound queue: too many new tickets from this sender",
    "bulk_mail": "Waiting in the inbound queue: bulk mail that threads nowhere",
    "auto_reply": "Suspended: an automatic reply that threads nowhere",
    "bounce": "Suspended: a delivery failure that threads nowhere",
    "outbound": "Sent from this {doctype}",
    "backfill": "From before persona_threading was installed",
}
#: After a closed ticket, a customer's reply opens a new one (engine.lifecycle).
NEW_LINKED = "Opened this {doctype}: the reply came after the earlier ticket was closed"
UNKNOWN = "Placed here by {rule}"

#: Each rule of the chain by the evidence it reads (the "Why here?" table's first column).
RULE_LABELS = {
    "token": "Conversation reference in the mail",
    "ticket_tag": "Hidden ticket tag in the quoted reply",
    "subject_tag": "Ticket tag in the subject",
    "plus_address": "Ticket's own reply address",
    "in_reply_to": "Answers one of our mails (In-Reply-To)",
    "references": "Refers to one of our mails (References)",
    "thread_index": "Outlook conversation thread",
    "prefix": "#PREFIX at the start of the subject",
    "single_scope": "The inbox's only project",
    "default_project": "The inbox's default landing project",
}

BADGE_TEXTS = {
    "auto_reply": "Auto-reply",
    "bounce": "Bounce",
    "bulk": "Bulk mail",
    "suspected_auto_reply": "Looks automatic",
    "suspected_bounce": "Looks like a bounce",
    "private": "Internal",
    "third_party": "Third party",
    "forwarded": "Forwarded by {agent}",
}


def sentence(decision: dict, doctype: str = "ticket") -> tuple[str, dict]:
    """(English template, parameters) for the mail's headline."""
    rule = decision.get("rule") or ""
    params = {"doctype": doctype, "project": decision.get("project") or "", "rule": rule}
    if decision.get("action") == "new" and "new linked one was opened" in (decision.get("evidence") or ""):
        return NEW_LINKED, params
    return RULE_SENTENCES.get(rule, UNKNOWN), params


def badges(decision: dict) -> list[tuple[str, dict]]:
    """(English template, parameters) of each badge the mail carries, most telling first."""
    out: list[tuple[str, dict]] = []
    machine = decision.get("machine") or {}
    kind = machine.get("kind")
    if kind:
        key = f"suspected_{kind}" if machine.get("suspected") and kind != "bulk" else kind
        if key in BADGE_TEXTS:
            out.append((BADGE_TEXTS[key], {}))
    if decision.get("sender_role") == "third_party":
        out.append((BADGE_TEXTS["third_party"], {}))
    if decision.get("visibility") == "private":
        out.append((BADGE_TEXTS["private"], {}))
    if decision.get("attribution") and decision.get("assigned_to"):
        out.append((BADGE_TEXTS["forwarded"], {"agent": decision["assigned_to"]}))
    return out


def why_not_answered(decision: dict) -> tuple[str, dict] | None:
    """Why no automatic reply went out, when the mail is machine mail (the dialog's line)."""
    machine = decision.get("machine") or {}
    if not machine.get("kind"):
        return None
    what = {"auto_reply": "an automatic reply", "bounce": "a delivery failure", "bulk": "bulk mail"}.get(
        machine["kind"], "machine mail")
    if machine.get("suspected"):
        return "No automatic reply: it looks like {what}", {"what": what}
    return "No automatic reply: it is {what}", {"what": what}


#: Why a mail is private, by who sent it (engine.participants.standing decides; this says it).
PRIVATE_BECAUSE = {
    "third_party": "Kept private: the sender is not a participant of this conversation",
    "agent": "Kept private: an agent's note by email",
    "light_agent": "Kept private: a light agent's note by email",
    "follower": "Kept private: a follower's mail",
}


def why_private(decision: dict) -> tuple[str, dict] | None:
    if decision.get("visibility") != "private":
        return None
    return PRIVATE_BECAUSE.get(decision.get("sender_role") or "", "Kept private: visible to agents only"), {}
