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

// Outcomes in words, with a colour each (the legend, the table, the chart and each row).
const PT_PREVIEW_OUTCOMES = {
	same: { label: __("Same ticket"), color: "green", hex: "#30a66d",
		legend: __("The engine puts the mail where it is now (or, as now, on no ticket).") },
	other_ticket: { label: __("Another existing ticket"), color: "red", hex: "#e24c4c",
		legend: __("The engine threads it onto another existing ticket than the one it is on.") },
	new_instead_of_existing: { label: __("New ticket instead of the existing one"), color: "orange", hex: "#f0883a",
		legend: __("The engine opens a new ticket; the mail is on an existing one.") },
	existing_instead_of_new: { label: __("Existing ticket instead of a new one"), color: "blue", hex: "#2490ef",
		legend: __("The engine threads it onto an existing ticket; the mail opened a ticket of its own.") },
	queued: { label: __("Manual queue instead of a ticket"), color: "purple", hex: "#8e44ad",
		legend: __("The engine lets a reviewer decide (the manual queue); the mail is on a ticket.") },
	ignored: { label: __("No ticket (out-of-office, bounce)"), color: "gray", hex: "#8d99a6",
		legend: __("Machine mail that threads nowhere: the engine stores it and opens nothing; the mail made or fed a ticket.") },
	no_ticket: { label: __("A ticket where there is none"), color: "yellow", hex: "#ecad4b",
		legend: __("The mail is on no ticket; the engine opens or threads it.") },
	unmapped: { label: __("Not compared"), color: "gray", hex: "#c0c6cc",
		legend: __("Where the mail is now is unknown.") },
	time_dependent: { label: __("Depends on time"), color: "cyan", hex: "#1fc1c1",
		legend: __("Not a disagreement: the app's live decision depended on when the mail came (the flood guard's window, a ticket closed at the time).") },
	changed_later: { label: __("Changed later"), color: "pink", hex: "#e35fab",
		legend: __("Not a disagreement: after the app routed it, someone moved the mail or placed it from the manual queue.") },
};

const persona_threading_preview = {
	outcome(id) {
		return PT_PREVIEW_OUTCOMES[id] || { label: id, color: "gray", hex: "#8d99a6", legend: "" };
	},

	pill(id) {
		const o = this.outcome(id);
		return `<span class="indicator-pill ${o.color}" title="${frappe.utils.escape_html(o.legend)}">${frappe.utils.escape_html(o.label)}</span>
			<code class="small text-muted">${frappe.utils.escape_html(id)}</code>`;
	},

	render(frm) {
		const wrapper = frm.get_field("report_html").$wrapper;
		wrapper.empty();
		if (!frm.doc.summary) {
			wrapper.html(`<p class="text-muted">${frm.is_new() ? __("No report yet: save this preview, then press Start.") : __("No report yet: press Start.")}</p>`);
			return;
		}
		const esc = frappe.utils.escape_html;
		const summary = JSON.parse(frm.doc.summary);
		const counts = Object.assign({}, summary.outcomes || {}, summary.explained || {});
		const outcomes = Object.entries(counts).filter(([, n]) => n);
		const rules = Object.entries(summary.rules || {});
		const skipped = summary.not_compared || {};
		const link = (doctype, name) =>
			name ? `<a href="/app/${frappe.router.slug(doctype)}/${encodeURIComponent(name)}">${esc(name)}</a>` : __("none");
		const rows = (frm.doc.disagreements || []).slice(0, 200).map((d) => `
			<div class="pt-preview-disagreement" style="border-top: 1px solid var(--border-color); padding: var(--padding-sm) 0">
				<div>${this.pill(d.outcome)}
					${__("Mail")} ${link("Communication", d.communication)}
					${__("from")} <b>${esc(d.sender || "")}</b>: ${esc(d.subject || "")}</div>
				<div>${__("It is on")} ${link(d.ticket_doctype, d.stock_ticket)};
					${__("the engine")}: <b>${esc(d.rule)}</b> ${d.engine_ticket ? __("onto") + " " + link(d.ticket_doctype, d.engine_ticket) : ""}</div>
				<pre class="pt-preview-explanation small text-muted" style="white-space: pre-wrap">${esc(d.explanation || "")}</pre>
			</div>`);
		const named = (summary.named || []).map((c) => `
			<div class="pt-preview-named small" style="padding: 2px 0">
				${link("Communication", c.ref)} ${esc(c.subject || "")}: ${esc(c.cause || "")}</div>`);
		const legend = Object.keys(PT_PREVIEW_OUTCOMES).map((id) => {
			const o = this.outcome(id);
			return `<div class="pt-preview-legend-item small"><span class="indicator ${o.color}"></span>
				<b>${esc(o.label)}</b>: ${esc(o.legend)}</div>`;
		});
		const explained = Object.values(summary.explained || {}).reduce((a, b) => a + b, 0);
		wrapper.html(`
			<div class="pt-preview-summary">
				<p><b>${summary.compared}</b> ${__("mails compared")}: <b class="pt-agree">${summary.agree}</b> ${__("agree")},
				<b class="pt-disagree">${summary.disagree}</b> ${__("disagree")}${explained ? `, <b class="pt-explained">${explained}</b> ${__("differ for a reason that is no disagreement")}` : ""}.</p>
				<p class="pt-preview-counting text-muted small">${__(
					"Replayed {0} mails; compared are the received ones. Not compared: {1} sent from tickets (replayed so that replies to them thread), {2} received from the site's own inboxes, {3} sent before the replay had met their ticket.",
					[frm.doc.processed || 0, skipped.sent || 0, skipped.outbound || 0, skipped.sent_skipped || 0]
				)}</p>
				<div class="pt-preview-chart"></div>
				<table class="table table-sm pt-preview-outcomes"><thead><tr><th>${__("Outcome")}</th><th>${__("Mails")}</th><th>${__("Meaning")}</th></tr></thead>
					<tbody>${outcomes.map(([o, n]) => `<tr data-outcome="${esc(o)}"><td>${this.pill(o)}</td><td>${n}</td>
						<td class="small text-muted">${esc(this.outcome(o).legend)}</td></tr>`).join("")}</tbody></table>
				<table class="table table-sm pt-preview-rules"><thead><tr><th>${__("Engine rule")}</th><th>${__("Compared")}</th><th>${__("Disagreements")}</th></tr></thead>
					<tbody>${rules.map(([r, c]) => `<tr><td>${esc(r)}</td><td>${c.compared}</td><td>${c.disagreements}</td></tr>`).join("")}</tbody></table>
				<details class="pt-preview-legend"><summary>${__("Legend")}</summary>${legend.join("")}</details>
			</div>
			${named.length ? `<details class="pt-preview-named-list"><summary>${__("Not counted as disagreements ({0})", [explained])}</summary>${named.join("")}</details>` : ""}
			<div class="pt-preview-disagreements">${rows.join("")}</div>`);
		if (outcomes.length) {
			new frappe.Chart(wrapper.find(".pt-preview-chart")[0], {
				type: "donut",
				height: 240,
				data: { labels: outcomes.map(([o]) => this.outcome(o).label), datasets: [{ name: __("Mails"), values: outcomes.map(([, n]) => n) }] },
				colors: outcomes.map(([o]) => this.outcome(o).hex),
			});
		}
	},
};
