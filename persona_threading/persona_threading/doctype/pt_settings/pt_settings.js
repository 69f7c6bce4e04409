// Status fields name the conversation DocType's own statuses (Issue's: Open, Replied, ...).
frappe.ui.form.on("PT Settings", {
	refresh(frm) {
		frappe.model.with_doctype("Issue", () => {
			const options = (frappe.meta.get_docfield("Issue", "status")?.options || "").split("\n").filter(Boolean);
			const hint = __("Statuses of Issue: {0}", [options.join(", ")]);
			frm.__pt_descriptions = frm.__pt_descriptions || {};
			for (const field of ["awaiting_input_statuses", "resolved_statuses", "closed_statuses", "in_progress_status"]) {
				const own = (frm.__pt_descriptions[field] ??= frm.fields_dict[field].df.description || "");
				frm.set_df_property(field, "description", `${own} ${hint}`);
			}
		});
	},
});
