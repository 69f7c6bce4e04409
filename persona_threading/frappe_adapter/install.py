"""Install / uninstall: secret, custom fields on ERPNext and Frappe DocTypes."""

from __future__ import annotations

import frappe
from frappe.custom.doctype.custom_field.custom_field import create_custom_fields

from . import settings

CUSTOM_FIELDS = {
	"Project": [
		{
			"fieldname": "pt_inbound_prefix",
			"fieldtype": "Data",
			"label": "Inbound email prefix",
			"unique": 1,
			"insert_after": "project_name",
			"description": "Mail whose subject starts with #PREFIX lands on an Issue of this project.",
		}
	],
	"Email Account": [
		{
			"fieldname": "pt_routing_section",
			"fieldtype": "Section Break",
			"label": "Project routing (persona_threading)",
			"insert_after": "append_to",
			"collapsible": 1,
		},
		{
			"fieldname": "pt_project_scopes",
			"fieldtype": "Table",
			"label": "Project scopes",
			"options": "PT Inbox Scope",
			"insert_after": "pt_routing_section",
		},
		{
			"fieldname": "pt_default_project",
			"fieldtype": "Link",
			"label": "Default landing project",
			"options": "Project",
			"insert_after": "pt_project_scopes",
			"description": "Where new mail lands when this inbox serves several projects and no #PREFIX routes it.",
		},
	],
}


def after_install():
	create_custom_fields(CUSTOM_FIELDS, update=True)
	settings.ensure_secret()


def after_migrate():
	create_custom_fields(CUSTOM_FIELDS, update=True)


def before_uninstall():
	for doctype, fields in CUSTOM_FIELDS.items():
		for field in fields:
			name = frappe.db.get_value("Custom Field", {"dt": doctype, "fieldname": field["fieldname"]})
			if name:
				frappe.delete_doc("Custom Field", name, ignore_permissions=True)
	frappe.clear_cache()
