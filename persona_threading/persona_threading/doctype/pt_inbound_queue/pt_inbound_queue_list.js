// The queue as a triage list: status colours, and the reviewer's actions on many rows at once.
frappe.listview_settings["PT Inbound Queue"] = {
	add_fields: ["status", "reason", "sender"],
	has_indicator_for_draft: true,
	get_indicator(doc) {
		const colour = { Open: "orange", Suspended: "gray", Attached: "green", "New Issue": "green", Dismissed: "darkgrey" };
		return [__(doc.status), colour[doc.status] || "gray", `status,=,${doc.status}`];
	},
	onload(listview) {
		const bulk = (action, args) => {
			const names = listview.get_checked_items(true);
			if (!names.length) return frappe.msgprint(__("Select the mails first"));
			frappe
				.call({
					method: "persona_threading.frappe_adapter.api.queue_bulk",
					args: { action, queues: names, ...args },
					freeze: true,
				})
				.then(({ message }) => {
					const refused = Object.keys(message.refused || {});
					frappe.show_alert({
						message: __("{0} done", [message.done.length]) + (refused.length ? ", " + __("{0} not: already resolved", [refused.length]) : ""),
						indicator: refused.length ? "orange" : "green",
					});
					listview.clear_checked_items();
					listview.last_args = null; // stock skips a refresh within 3 s of the last one
					listview.refresh();
				});
		};
		listview.page.add_actions_menu_item(__("Open as Issue"), () => bulk("open", {}), false);
		listview.page.add_actions_menu_item(
			__("Attach to Issue"),
			() =>
				frappe.prompt(
					{ fieldname: "reference_name", fieldtype: "Link", options: "Issue", label: __("Issue"), reqd: 1 },
					(v) => bulk("attach", v),
					__("Attach the selected mails to an Issue")
				),
			false
		);
		listview.page.add_actions_menu_item(
			__("Dismiss"),
			() =>
				frappe.prompt(
					{ fieldname: "reason", fieldtype: "Small Text", label: __("Why"), reqd: 1 },
					(v) => bulk("dismiss", v),
					__("Dismiss the selected mails (they are kept)")
				),
			false
		);
	},
};
