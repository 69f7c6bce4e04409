"""The receiving inbox serves exactly one eligible project."""

from ..decision import Match, Miss

name = "single_scope"


def match(message, ctx):
    inbox = ctx.inbox
    if inbox is None:
        return Miss("not received by a configured inbox")
    if len(inbox.scopes) != 1:
        return Miss(f"inbox {inbox.address} has {len(inbox.scopes)} eligible project scopes")
    return Match(f"inbox {inbox.address} serves only {inbox.scopes[0]}", project=inbox.scopes[0])
