// A parked mail: try it again at the next pull, or store it as it is and open an Issue.
frappe.ui.form.on("PT Inbound Journal", {
	refresh(frm) {
		if (frm.doc.status === "Skipped") return;
		const call = (method) =>
			frappe.call({ method: `persona_threading.frappe_adapter.api.${method}`, args: { entry: frm.doc.name }, freeze: true });
		frm.add_custom_button(__("Retry"), () =>
			call("journal_retry").then(() => {
				frappe.show_alert({ message: __("It will be tried again at the next pull"), indicator: "green" });
				frm.reload_doc();
			})
		);
		frm.add_custom_button(__("Open as Issue"), () =>
			call("journal_open_as_issue").then(({ message }) => frappe.set_route("Form", "Issue", message))
		);
	},
});
