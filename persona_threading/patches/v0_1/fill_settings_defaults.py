"""Existing sites: give PT Settings fields added after install their declared defaults."""

import frappe


def execute():
	"""A field never saved has no row in Singles (a loaded doc would show 0/None for it)."""
	Singles = frappe.qb.Table("tabSingles")
	stored = {f for (f,) in frappe.qb.from_(Singles).select(Singles.field).where(Singles.doctype == "PT Settings").run()}
	doc = frappe.get_single("PT Settings")
	missing = [f for f in frappe.get_meta("PT Settings").fields
			   if f.default and f.fieldname not in stored and f.fieldtype != "Password"]
	for field in missing:
		doc.set(field.fieldname, field.default)
	if missing:
		doc.flags.ignore_permissions = True
		doc.save()
