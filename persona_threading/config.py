"""The CLI's TOML configuration: inboxes, projects, internal users, carriers, secret.

Example::

    secret = "change-me"                # optional: else generated once and kept in the DB

    [[project]]
    prefix = "ACME"
    title = "Acme Corp"
    inbound = true                      # a #ACME may open it from an inbox without project scopes

    [[inbox]]
    address = "support@example.com"
    projects = ["ACME", "BETA"]         # eligible scopes, by prefix
    paused_projects = ["OLD"]           # scopes that take no mail now (like an ineligible scope)
    default_project = "ACME"            # must be one of the eligible ones

    [[user]]
    email = "agent@example.com"
    active = true
    light_agent = false                 # true: reads and writes internal notes only (never public, adds no CCs)

    [participants]
    cc_blocklist = ["*@competitor.example", "noreply@*"]  # never added as CC (shell-style * and ?)

    [carriers]                          # what `reply` stamps on outgoing mail
    subject_tag = true

    [policy]                            # defaults shown
    external_forward_requesters = false # an agent's forward of an outsider: who is the requester
    header_threading = true             # In-Reply-To and References thread replies
    thread_index_threading = true       # a reply's Outlook Thread-Index threads it
    prefix_after_reply_markers = false  # "Re: #ACME ..." routes to ACME too
    bulk_mail_action = "open"           # bulk mail that threads nowhere: "open" or "queue"

    [auto_reply]                        # what `route --json` reports as "auto_reply" (nothing is sent)
    enabled = true
    window_minutes = 60                 # at most one automatic mail per address per window
    per_conversation_per_day = 5
    max_age_hours = 0                   # older mail gets none (0 = no limit)
    never_answer = ["noreply*", "no-reply*", "donotreply*", "do-not-reply*", "mailer-daemon", "postmaster", "bounce*"]

    [flood_guard]                       # a sender who opened `conversations` in `minutes` opens no more
    conversations = 10                  # 0 switches it off
    minutes = 10

    [security]
    authserv_ids = ["mx.example.com"]   # our receiving servers: only their Authentication-Results count

Every key has a type (booleans are TOML true/false); an unknown key or a wrong type is an
error naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from .engine.limits import AutoReplyPolicy, FloodGuard
from .engine.outgoing import Carriers
from .engine.policy import BULK_MAIL_ACTIONS, RoutingPolicy
from .engine.rules.prefix import VALID_PREFIX
from .store.sqlite import InboxConfig, ProjectConfig, UserConfig


class ConfigError(Exception):
    """The configuration file is unreadable or inconsistent; the message says where."""


@dataclass
class Config:
    secret: str | None = None
    projects: list[ProjectConfig] = field(default_factory=list)
    inboxes: list[InboxConfig] = field(default_factory=list)
    users: list[UserConfig] = field(default_factory=list)
    carriers: Carriers = Carriers()
    policy: RoutingPolicy = RoutingPolicy()
    auto_reply: AutoReplyPolicy = AutoReplyPolicy()
    flood_guard: FloodGuard = FloodGuard()


# The type of every key: a typo or a wrong type is an error naming the key, never ignored.
TEXT, BOOLEAN, TEXT_LIST, TABLE, TABLE_LIST = "a string", "a boolean (true or false)", \
    "a list of strings", "a table", "a list of tables ([[name]])"
COUNT, NUMBER = "a whole number ≥ 0", "a number ≥ 0"
TOP_LEVEL = {"secret": TEXT, "project": TABLE_LIST, "inbox": TABLE_LIST, "user": TABLE_LIST,
             "carriers": TABLE, "policy": TABLE, "auto_reply": TABLE, "flood_guard": TABLE,
             "security": TABLE, "participants": TABLE}
PROJECT_KEYS = {"prefix": TEXT, "title": TEXT, "inbound": BOOLEAN}
INBOX_KEYS = {"address": TEXT, "projects": TEXT_LIST, "paused_projects": TEXT_LIST,
              "default_project": TEXT}
USER_KEYS = {"email": TEXT, "active": BOOLEAN, "light_agent": BOOLEAN}
CARRIER_KEYS = {f.name: BOOLEAN for f in fields(Carriers)}
POLICY_KEYS = {f.name: BOOLEAN for f in fields(RoutingPolicy) if f.type in (bool, "bool")} | {
    "bulk_mail_action": TEXT}
SECURITY_KEYS = {"authserv_ids": TEXT_LIST}
PARTICIPANTS_KEYS = {"cc_blocklist": TEXT_LIST}
AUTO_REPLY_KEYS = {"enabled": BOOLEAN, "window_minutes": COUNT, "per_conversation_per_day": COUNT,
                   "max_age_hours": NUMBER, "never_answer": TEXT_LIST}
FLOOD_GUARD_KEYS = {f.name: COUNT for f in fields(FloodGuard)}


def _has_type(value, kind: str) -> bool:
    if kind == TEXT:
        return isinstance(value, str)
    if kind == BOOLEAN:
        return isinstance(value, bool)  # TOML true/false only: not 'no', not 0
    if kind in (COUNT, NUMBER):  # TOML true is an int to Python: not a count
        wanted = int if kind == COUNT else (int, float)
        return isinstance(value, wanted) and not isinstance(value, bool) and value >= 0
    if kind == TEXT_LIST:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == TABLE:
        return isinstance(value, dict)
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def _checked(table: dict, keys: dict[str, str], where: str, source: str) -> dict:
    """``table`` itself, once every key is known and every value has the key's type."""
    for key, value in table.items():
        if key not in keys:
            raise ConfigError(f"{source}: unknown key {key!r} in {where} (known: {', '.join(keys)})")
        if not _has_type(value, keys[key]):
            raise ConfigError(f"{source}: {where} key {key!r} must be {keys[key]}, not {value!r}")
    return table


def load_config(path: str) -> Config:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path} is not valid TOML: {exc}") from exc
    return parse_config(data, path)


def parse_config(data: dict, source: str = "config") -> Config:
    _checked(data, TOP_LEVEL, "the top level", source)

    def entries(name: str, keys: dict[str, str]) -> list[dict]:
        return [_checked(entry, keys, f"[[{name}]] #{number}", source)
                for number, entry in enumerate(data.get(name, []), 1)]

    projects = []
    for entry in entries("project", PROJECT_KEYS):
        prefix = entry.get("prefix", "")
        if not VALID_PREFIX.fullmatch(prefix):
            raise ConfigError(f"{source}: project prefix {prefix!r} must match [A-Za-z][A-Za-z0-9]+")
        if prefix.lower() in {p.prefix.lower() for p in projects}:
            raise ConfigError(f"{source}: project prefix {prefix!r} is defined twice")
        projects.append(ProjectConfig(prefix, entry.get("title", ""), entry.get("inbound", True)))
    by_prefix = {p.prefix.lower(): p.prefix for p in projects}

    inboxes = []
    for entry in entries("inbox", INBOX_KEYS):
        address = entry.get("address", "").strip().lower()
        if "@" not in address:
            raise ConfigError(f"{source}: inbox address {address!r} is not an email address")

        def known(names: list[str]) -> tuple[str, ...]:
            for name in names:
                if name.lower() not in by_prefix:
                    raise ConfigError(f"{source}: inbox {address} names unknown project {name!r}")
            return tuple(by_prefix[name.lower()] for name in names)

        scopes, paused = known(entry.get("projects", [])), known(entry.get("paused_projects", []))
        if set(scopes) & set(paused):
            raise ConfigError(f"{source}: inbox {address} lists {sorted(set(scopes) & set(paused))} in both"
                              " projects and paused_projects")
        default = entry.get("default_project")
        if default is not None:
            if default.lower() not in {s.lower() for s in scopes}:
                raise ConfigError(f"{source}: inbox {address} default_project {default!r} must be one"
                                  f" of its projects {list(scopes)}")
            default = by_prefix[default.lower()]
        inboxes.append(InboxConfig(address, scopes, default, paused))

    users = [UserConfig(u.get("email", "").strip().lower(), u.get("active", True), u.get("light_agent", False))
             for u in entries("user", USER_KEYS)]
    secret = data.get("secret")
    policy = _checked(data.get("policy", {}), POLICY_KEYS, "[policy]", source)
    if policy.get("bulk_mail_action", BULK_MAIL_ACTIONS[0]) not in BULK_MAIL_ACTIONS:
        raise ConfigError(f"{source}: [policy] key 'bulk_mail_action' must be one of"
                          f" {', '.join(map(repr, BULK_MAIL_ACTIONS))}, not {policy['bulk_mail_action']!r}")
    security = _checked(data.get("security", {}), SECURITY_KEYS, "[security]", source)
    policy["trusted_authserv_ids"] = tuple(i.strip().lower() for i in security.get("authserv_ids", []) if i.strip())
    participants = _checked(data.get("participants", {}), PARTICIPANTS_KEYS, "[participants]", source)
    policy["cc_blocklist"] = tuple(p.strip().lower() for p in participants.get("cc_blocklist", []) if p.strip())
    auto_reply = _checked(data.get("auto_reply", {}), AUTO_REPLY_KEYS, "[auto_reply]", source)
    if "never_answer" in auto_reply:
        auto_reply["never_answer"] = tuple(auto_reply["never_answer"])
    return Config(secret or None, projects, inboxes, users,
                  Carriers(**_checked(data.get("carriers", {}), CARRIER_KEYS, "[carriers]", source)),
                  RoutingPolicy(**policy), AutoReplyPolicy(**auto_reply),
                  FloodGuard(**_checked(data.get("flood_guard", {}), FLOOD_GUARD_KEYS, "[flood_guard]", source)))
