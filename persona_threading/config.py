"""The CLI's TOML configuration: inboxes, projects, internal users, carriers, secret.

Example::

    secret = "change-me"                # optional: else generated once and kept in the DB

    [[project]]
    prefix = "ACME"
    title = "Acme Corp"

    [[inbox]]
    address = "support@example.com"
    projects = ["ACME", "BETA"]         # eligible scopes, by prefix
    default_project = "ACME"            # must be one of them

    [[user]]
    email = "agent@example.com"
    active = true

    [carriers]                          # what `reply` stamps on outgoing mail
    subject_tag = true

    [policy]
    external_forward_requesters = false # an agent's forward of an outsider: who is the requester
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from .engine.outgoing import Carriers
from .engine.router import RoutingPolicy
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
    def table_list(name: str) -> list[dict]:
        value = data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ConfigError(f"{source}: [[{name}]] must be a list of tables")
        return value

    projects = []
    for entry in table_list("project"):
        prefix = str(entry.get("prefix", ""))
        if not VALID_PREFIX.fullmatch(prefix):
            raise ConfigError(f"{source}: project prefix {prefix!r} must match [A-Za-z][A-Za-z0-9]+")
        if prefix.lower() in {p.prefix.lower() for p in projects}:
            raise ConfigError(f"{source}: project prefix {prefix!r} is defined twice")
        projects.append(ProjectConfig(prefix, str(entry.get("title", ""))))
    by_prefix = {p.prefix.lower(): p.prefix for p in projects}

    inboxes = []
    for entry in table_list("inbox"):
        address = str(entry.get("address", "")).strip().lower()
        if "@" not in address:
            raise ConfigError(f"{source}: inbox address {address!r} is not an email address")
        scopes = []
        for name in entry.get("projects", []):
            if str(name).lower() not in by_prefix:
                raise ConfigError(f"{source}: inbox {address} names unknown project {name!r}")
            scopes.append(by_prefix[str(name).lower()])
        default = entry.get("default_project")
        if default is not None:
            if str(default).lower() not in {s.lower() for s in scopes}:
                raise ConfigError(f"{source}: inbox {address} default_project {default!r} must be one"
                                  f" of its projects {scopes}")
            default = by_prefix[str(default).lower()]
        inboxes.append(InboxConfig(address, tuple(scopes), default))

    users = [UserConfig(str(u.get("email", "")).strip().lower(), bool(u.get("active", True)))
             for u in table_list("user")]

    carrier_table = data.get("carriers", {})
    known = {f.name for f in fields(Carriers)}
    unknown = set(carrier_table) - known
    if unknown:
        raise ConfigError(f"{source}: unknown [carriers] keys {sorted(unknown)}; known: {sorted(known)}")
    policy_table = data.get("policy", {})
    unknown = set(policy_table) - {f.name for f in fields(RoutingPolicy)}
    if unknown:
        raise ConfigError(f"{source}: unknown [policy] keys {sorted(unknown)}")
    secret = data.get("secret")
    return Config(str(secret) if secret else None, projects, inboxes, users,
                  Carriers(**{k: bool(v) for k, v in carrier_table.items()}),
                  RoutingPolicy(**{k: bool(v) for k, v in policy_table.items()}))
