"""RoutingPolicy: the site's routing choices, one immutable object (like email.policy).

Rules read it through their RouteContext; switching a rule off is data here, not an
if-branch in the router: ``disabled_rules`` names the rules the walk skips, and each
skipped rule is still recorded with the evidence "disabled by settings".
"""

from __future__ import annotations

from dataclasses import dataclass

DISABLED_EVIDENCE = "disabled by settings"

# Where bulk mail (newsletters, list mail, notifications) that threads nowhere goes.
BULK_OPEN, BULK_QUEUE = "open", "queue"
BULK_MAIL_ACTIONS = (BULK_OPEN, BULK_QUEUE)


@dataclass(frozen=True)
class RoutingPolicy:
    """Site-level choices the rules do not own."""

    external_forward_requesters: bool = False  # an agent's forward of an outsider's mail makes
    # the outsider the requester (else the agent is)
    header_threading: bool = True  # In-Reply-To and References thread mail (off: tokens only)
    thread_index_threading: bool = True  # a reply's Outlook Thread-Index threads mail
    prefix_after_reply_markers: bool = False  # "Re: #ACME …" routes to ACME too (lenient form)
    bulk_mail_action: str = BULK_OPEN  # bulk mail that threads nowhere: "open" like any mail,
    # or "queue" for a reviewer (any other value counts as "open")
    trusted_authserv_ids: tuple[str, ...] = ()  # authserv-ids of the site's own receiving
    # servers: only their Authentication-Results count (engine.authenticity)
    cc_blocklist: tuple[str, ...] = ()  # addresses never added as CC or follower: shell-style
    # * and ?, whole address, case-insensitive (engine.participants.directory)
    ccs_by_email: bool = True  # received mail may add CCs (off: CCs from the conversation only)

    @property
    def disabled_rules(self) -> frozenset[str]:
        """Names of the chain rules these settings switch off."""
        switched = (("in_reply_to", self.header_threading), ("references", self.header_threading),
                    ("thread_index", self.thread_index_threading))
        return frozenset(rule for rule, enabled in switched if not enabled)


DEFAULT_POLICY = RoutingPolicy()
