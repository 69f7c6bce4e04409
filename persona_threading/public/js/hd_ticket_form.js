// The desk form of Frappe Helpdesk's HD Ticket gets what the Issue form has: "Why here?" and the
// participants panel (conversation_form.js, loaded first, registers them for Issue).
(() => {
	const issue = (frappe.ui.form.handlers || {})["Issue"] || {};
	for (const [event, handlers] of Object.entries(issue)) {
		for (const handler of handlers) frappe.ui.form.on("HD Ticket", event, handler);
	}
})();
