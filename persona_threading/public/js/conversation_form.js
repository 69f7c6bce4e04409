// "Why here?" on the Issue form: one row per mail (direction, time, sender, verdict) and,
// under it, every rule tried with the deciding one highlighted. Message-IDs named in the
// evidence link to the Communication they were stored as.
frappe.provide("persona_threading");

persona_threading.why_here_html = function (items) {
	const esc = frappe.utils.escape_html;
	const evidence = (text, links) =>
		esc(text || "").replace(/&lt;([^&\s]+?)&gt;/g, (whole, id) => {
			const raw = $("<textarea>").html(id).text();
			const target = links && links[raw];
			return target ? `<a href="/app/communication/${encodeURIComponent(target)}">&lt;${id}&gt;</a>` : whole;
		});
	return items
		.map((item) => {
			const rules = (item.attempts || [])
				.map((a) => {
					const deciding = a.matched && a.rule === item.rule;
					return `<tr class="${deciding ? "pt-deciding" : ""}" style="${deciding ? "background: var(--bg-green); font-weight: 600" : ""}">
						<td>${esc(a.rule)}</td>
						<td>${a.matched ? __("matched") : __("no")}</td>
						<td>${evidence(a.evidence, item.links)}</td></tr>`;
				})
				.join("");
			const when = item.received_at ? frappe.datetime.str_to_user(item.received_at) : "";
			return `<div class="pt-why-message" style="margin-bottom: var(--margin-lg)">
				<div class="pt-why-summary">
					<span class="indicator-pill ${item.direction === "Inbound" ? "blue" : "gray"}">${esc(__(item.direction || ""))}</span>
					<span class="text-muted">${esc(when)}</span>
					<b>${esc(item.sender || "")}</b>
					&rarr; <span class="pt-verdict">${esc(item.action)} ${__("by")} <b>${esc(item.rule)}</b></span>
					<div class="text-muted small">${evidence(item.evidence, item.links)}</div>
				</div>
				<table class="table table-bordered table-sm pt-why-rules" style="margin-top: var(--margin-sm)">
					<thead><tr><th>${__("Rule")}</th><th>${__("Matched")}</th><th>${__("Evidence")}</th></tr></thead>
					<tbody>${rules}</tbody>
				</table>
			</div>`;
		})
		.join("");
};

frappe.ui.form.on("Issue", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.add_custom_button(__("Why here?"), () => {
			frappe.call({
				method: "persona_threading.api.why_here",
				args: { doctype: frm.doctype, name: frm.docname },
				callback: ({ message }) => {
					frappe.msgprint({
						title: __("Why did these emails land here?"),
						message:
							persona_threading.why_here_html(message || []) ||
							__("No routed email on this document yet."),
						wide: true,
					});
				},
			});
		});
	},
});
