"""Existing sites: give PT Settings fields added after install their declared defaults."""

from persona_threading.frappe_adapter.install import fill_settings_defaults


def execute():
	fill_settings_defaults()
