// Waiting mail is tried at every pull; parked mail needs an admin; skipped mail is a record.
frappe.listview_settings["PT Inbound Journal"] = {
	add_fields: ["status", "error_summary"],
	get_indicator(doc) {
		const colour = { Waiting: "orange", Parked: "red", Skipped: "gray" };
		return [__(doc.status), colour[doc.status] || "gray", `status,=,${doc.status}`];
	},
};
