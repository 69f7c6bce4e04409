// "Why here?" on any document that has a persona_threading conversation (Issue by default).
frappe.ui.form.on(frappe.boot.persona_threading_doctype || "Issue", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.add_custom_button(__("Why here?"), () => {
			frappe.call({
				method: "persona_threading.frappe_adapter.api.why_here",
				args: { doctype: frm.doctype, name: frm.docname },
				callback: ({ message }) => {
					const rows = (message || []).map((m) => `
						<h6>${frappe.utils.escape_html(m.direction)} ${frappe.utils.escape_html(m.message_id || "")}
						<span class="text-muted">${frappe.datetime.str_to_user(m.creation)}</span></h6>
						<pre style="white-space:pre-wrap">${frappe.utils.escape_html(m.explanation)}</pre>`);
					frappe.msgprint({
						title: __("Why did these emails land here?"),
						message: rows.join("") || __("No routed email on this document yet."),
						wide: true,
					});
				},
			});
		});
	},
});
