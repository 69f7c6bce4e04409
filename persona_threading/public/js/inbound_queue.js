// The queued mail as the reviewer reads it, and their actions: attach it to an Issue, open a
// new one, or dismiss it.
frappe.ui.form.on("PT Inbound Queue", {
	refresh(frm) {
		frm.disable_save();  // nothing here is edited by hand: the actions set the status
		persona_threading_show_queued_mail(frm);
		if (!["Open", "Suspended"].includes(frm.doc.status)) return;
		const call = (method, args) =>
			frappe.call({ method: `persona_threading.frappe_adapter.api.${method}`, args: { queue: frm.doc.name, ...args } })
				.then(() => frm.reload_doc());
		frm.add_custom_button(__("Attach to Issue"), () =>
			frappe.prompt({ fieldname: "reference_name", fieldtype: "Link", options: "Issue", label: __("Issue"), reqd: 1 },
				(v) => call("queue_attach", v), __("Attach to an existing Issue")), __("Resolve"));
		frm.add_custom_button(__("Open as Issue"), () =>
			frappe.prompt({ fieldname: "project", fieldtype: "Link", options: "Project", label: __("Project") },
				(v) => call("queue_create_issue", v), __("Open a new Issue")), __("Resolve"));
		frm.add_custom_button(__("Dismiss"), () =>
			frappe.prompt({ fieldname: "reason", fieldtype: "Small Text", label: __("Why"), reqd: 1 },
				(v) => call("queue_dismiss", v), __("Dismiss (the mail is kept)")), __("Resolve"));
	},
});

function persona_threading_show_queued_mail(frm) {
	const wrapper = frm.get_field("mail_preview").$wrapper;
	if (!frm.doc.communication) return wrapper.html(`<p class="text-muted">${__("The mail is attached as .eml.")}</p>`);
	frappe.xcall("persona_threading.frappe_adapter.api.queued_mail", { queue: frm.doc.name }).then((message) => {
		if (!message || !message.sender && !message.content) return;
		const esc = frappe.utils.escape_html;
		// content is stored sanitised by Frappe; shown in a box of its own
		wrapper.html(`<div class="pt-queued-mail">
			<div><b>${esc(message.sender || "")}</b> <span class="text-muted">${esc(frappe.datetime.str_to_user(message.communication_date) || "")}</span></div>
			<div class="text-muted">${esc(message.subject || "")}</div>
			<div class="pt-queued-mail-body" style="margin-top: var(--margin-sm); padding: var(--padding-sm); border: 1px solid var(--border-color); border-radius: var(--border-radius); max-height: 400px; overflow: auto;">${message.content || ""}</div>
		</div>`);
	});
}
