from conftest import configure

from persona_threading.store.sqlite import InboxConfig, ProjectConfig


def test_multi_scope_inbox_lands_on_its_default(world):
    configure(world.store, support_default="BETA")
    d = world.deliver("new_to_support.eml")
    assert (d.action, d.rule, d.project) == ("new", "default_project", "BETA")


def test_removed_default_scope_degrades_to_the_queue(world):
    """The default points at a project that is no longer a scope: no route, no error."""
    world.store.apply_config(
        [ProjectConfig("ACME"), ProjectConfig("BETA"), ProjectConfig("GAMMA")],
        [InboxConfig("support@help.example", ("ACME", "GAMMA"), "BETA")], [])
    d = world.deliver("new_to_support.eml")
    assert d.action == "queued"
    assert "no longer an eligible scope" in [a for a in d.attempts if a.rule == "default_project"][0].evidence
