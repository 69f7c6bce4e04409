// PT Settings: which Email Account class runs. When another app's override wins over this
// app's (persona_threading then routes no mail), a banner names the class in effect and the fix.
frappe.ui.form.on("PT Settings", {
	refresh(frm) {
		frappe
			.xcall("persona_threading.frappe_adapter.account_class.class_in_effect")
			.then((state) => {
				if (!state || state.ours) return;
				frm.dashboard.set_headline_alert(
					`<div class="pt-bypassed">${frappe.utils.escape_html(state.message)}</div>`,
					"red"
				);
				frm.add_custom_button(__("Use persona_threading's Email Account"), () =>
					frappe
						.xcall("persona_threading.frappe_adapter.account_class.use_app_class")
						.then(() => frm.reload_doc())
				);
			});
	},
});
