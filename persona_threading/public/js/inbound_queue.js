// Reviewer actions on a queued mail: attach to an Issue, open a new one, or dismiss.
frappe.ui.form.on("PT Inbound Queue", {
	refresh(frm) {
		if (frm.doc.status !== "Open") return;
		const call = (method, args) =>
			frappe.call({ method: `persona_threading.frappe_adapter.api.${method}`, args: { queue: frm.doc.name, ...args } })
				.then(() => frm.reload_doc());
		frm.add_custom_button(__("Attach to Issue"), () =>
			frappe.prompt({ fieldname: "reference_name", fieldtype: "Link", options: "Issue", label: __("Issue"), reqd: 1 },
				(v) => call("queue_attach", v), __("Attach to an existing Issue")), __("Resolve"));
		frm.add_custom_button(__("New Issue"), () =>
			frappe.prompt({ fieldname: "project", fieldtype: "Link", options: "Project", label: __("Project") },
				(v) => call("queue_create_issue", v), __("Open a new Issue")), __("Resolve"));
		frm.add_custom_button(__("Dismiss"), () =>
			frappe.prompt({ fieldname: "reason", fieldtype: "Small Text", label: __("Why"), reqd: 1 },
				(v) => call("queue_dismiss", v), __("Dismiss (the mail is kept)")), __("Resolve"));
	},
});
