"""A multi-scope inbox with a pinned default landing project."""

from ..decision import Match, Miss

name = "default_project"


def match(message, ctx):
    inbox = ctx.inbox
    if inbox is None or len(inbox.scopes) < 2:
        return Miss("not a multi-scope inbox")
    if not inbox.default_project:
        return Miss(f"inbox {inbox.address} has no default landing project")
    if inbox.default_project not in inbox.scopes:
        return Miss(f"default landing project {inbox.default_project} is no longer an eligible "
                    f"scope of {inbox.address}")
    return Match(f"default landing project of {inbox.address}", project=inbox.default_project)
