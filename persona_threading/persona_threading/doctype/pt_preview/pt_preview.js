// The preview's report: counts per outcome (with a chart) and per rule, then each
// disagreement with links to the mail and both tickets and the engine's explanation.
frappe.ui.form.on("PT Preview", {
	refresh(frm) {
		const running = ["Queued", "Running", "Cancelling"].includes(frm.doc.status);
		if (!frm.is_new() && !running) {
			frm.add_custom_button(frm.doc.status === "Draft" ? __("Start") : __("Run again"), () =>
				frm.call("start").then(() => frm.reload_doc())
			);
		}
		if (running) {
			frm.add_custom_button(__("Cancel"), () => frm.call("cancel_run").then(() => frm.reload_doc()));
		}
		if (frm.doc.status === "Done" || frm.doc.status === "Cancelled") {
			frm.add_custom_button(__("Download CSV"), () => {
				frappe.db
					.get_value("File", { attached_to_doctype: frm.doctype, attached_to_name: frm.docname }, "file_url")
					.then(({ message }) => message && message.file_url && window.open(message.file_url));
			});
		}
		frappe.realtime.off("pt_preview_done");
		frappe.realtime.on("pt_preview_done", (data) => data.name === frm.docname && frm.reload_doc());
		persona_threading_preview.render(frm);
	},
});

const persona_threading_preview = {
	render(frm) {
		const wrapper = frm.get_field("report_html").$wrapper;
		wrapper.empty();
		if (!frm.doc.summary) {
			wrapper.html(`<p class="text-muted">${__("No report yet: press Start.")}</p>`);
			return;
		}
		const esc = frappe.utils.escape_html;
		const summary = JSON.parse(frm.doc.summary);
		const outcomes = Object.entries(summary.outcomes || {}).filter(([, n]) => n);
		const rules = Object.entries(summary.rules || {});
		const link = (doctype, name) =>
			name ? `<a href="/app/${frappe.router.slug(doctype)}/${encodeURIComponent(name)}">${esc(name)}</a>` : __("none");
		const rows = (frm.doc.disagreements || []).slice(0, 200).map((d) => `
			<div class="pt-preview-disagreement" style="border-top: 1px solid var(--border-color); padding: var(--padding-sm) 0">
				<div><span class="indicator-pill orange">${esc(d.outcome)}</span>
					${__("Mail")} ${link("Communication", d.communication)}
					${__("from")} <b>${esc(d.sender || "")}</b>: ${esc(d.subject || "")}</div>
				<div>${__("Stock put it on")} ${link(d.ticket_doctype, d.stock_ticket)};
					${__("the engine")}: <b>${esc(d.rule)}</b> ${d.engine_ticket ? __("onto") + " " + link(d.ticket_doctype, d.engine_ticket) : ""}</div>
				<pre class="pt-preview-explanation small text-muted" style="white-space: pre-wrap">${esc(d.explanation || "")}</pre>
			</div>`);
		wrapper.html(`
			<div class="pt-preview-summary">
				<p><b>${summary.compared}</b> ${__("mails compared")}: <b class="pt-agree">${summary.agree}</b> ${__("agree")},
				<b class="pt-disagree">${summary.disagree}</b> ${__("disagree")}.</p>
				<div class="pt-preview-chart"></div>
				<table class="table table-sm pt-preview-outcomes"><thead><tr><th>${__("Outcome")}</th><th>${__("Mails")}</th></tr></thead>
					<tbody>${outcomes.map(([o, n]) => `<tr data-outcome="${esc(o)}"><td>${esc(o)}</td><td>${n}</td></tr>`).join("")}</tbody></table>
				<table class="table table-sm pt-preview-rules"><thead><tr><th>${__("Engine rule")}</th><th>${__("Compared")}</th><th>${__("Disagreements")}</th></tr></thead>
					<tbody>${rules.map(([r, c]) => `<tr><td>${esc(r)}</td><td>${c.compared}</td><td>${c.disagreements}</td></tr>`).join("")}</tbody></table>
			</div>
			<div class="pt-preview-disagreements">${rows.join("")}</div>`);
		if (outcomes.length) {
			new frappe.Chart(wrapper.find(".pt-preview-chart")[0], {
				type: "bar",
				height: 220,
				data: { labels: outcomes.map(([o]) => o), datasets: [{ name: __("Mails"), values: outcomes.map(([, n]) => n) }] },
			});
		}
	},
};
