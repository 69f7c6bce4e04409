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

// The participants panel: requester, CCs, followers (with active state and parent record),
// buttons to add/remove a follower or a CC, and a warning for each third party's reply
// until an agent makes it public (adding its sender as CC) or dismisses it.
persona_threading.participants_html = function (people) {
	const esc = frappe.utils.escape_html;
	const rows = people.map((p) => {
		const parent = p.follower_doctype
			? `<a href="/app/${frappe.router.slug(p.follower_doctype)}/${encodeURIComponent(p.follower_name)}">${esc(p.follower_doctype)}</a>`
			: `<span class="text-muted">${__("no record")}</span>`;
		const state = p.active ? __("active") : __("inactive");
		const bounced = p.delivery_status ? ` <span class="indicator-pill red" title="${esc(p.bounce_reason || "")}">${esc(__(p.delivery_status))}</span>` : "";
		const removable = p.active && ["CC", "Follower"].includes(p.role);
		return `<tr class="pt-participant" data-email="${esc(p.email)}" data-role="${esc(p.role)}">
			<td>${esc(p.email)}${bounced}</td><td class="pt-role">${esc(__(p.role))}</td>
			<td class="pt-state ${p.active ? "" : "text-muted"}">${state}</td><td>${parent}</td>
			<td>${removable ? `<button class="btn btn-xs btn-default pt-remove">${__("Remove")}</button>` : ""}</td></tr>`;
	});
	return `<table class="table table-sm pt-participants" style="margin-bottom: var(--margin-sm)">
		<thead><tr><th>${__("Email")}</th><th>${__("Role")}</th><th>${__("State")}</th><th>${__("Record")}</th><th></th></tr></thead>
		<tbody>${rows.join("") || `<tr><td colspan="5" class="text-muted">${__("Nobody yet")}</td></tr>`}</tbody></table>
		<button class="btn btn-xs btn-default pt-add-cc">${__("Add CC")}</button>
		<button class="btn btn-xs btn-default pt-add-follower">${__("Add follower")}</button>`;
};

persona_threading.show_participants = function (frm) {
	const args = { doctype: frm.doctype, name: frm.docname };
	frappe.xcall("persona_threading.api.conversation_participants", args).then(({ participants, warnings, private: hidden }) => {
		persona_threading.mark_private(frm, hidden || []);
		const call = (method, extra) =>
			frappe.xcall(`persona_threading.api.${method}`, { ...args, ...extra }).then(() => frm.reload_doc());
		const html = persona_threading.participants_html(participants);
		const $existing = frm.pt_participants_section;
		if ($existing && document.body.contains($existing[0])) {
			$existing.html(html);
		} else {
			frm.pt_participants_section = frm.dashboard.add_section(html, __("Participants"));
		}
		frm.dashboard.show();
		const $section = frm.pt_participants_section;
		$section.find(".pt-remove").on("click", (e) => {
			const $row = $(e.currentTarget).closest("tr");
			call("set_participant", { email: $row.attr("data-email"), role: $row.attr("data-role"), active: 0 });
		});
		const add = (role, fieldtype, options) =>
			frappe.prompt({ fieldname: "email", label: __("Email"), fieldtype, options, reqd: 1 }, ({ email }) =>
				call("set_participant", { email, role, active: 1 }), __("Add {0}", [__(role)]));
		$section.find(".pt-add-cc").on("click", () => add("CC", "Data", "Email"));
		$section.find(".pt-add-follower").on("click", () => add("Follower", "Link", "User"));
		for (const w of warnings) {
			const $alert = $(`<div class="alert alert-warning pt-third-party-warning">
				${frappe.utils.escape_html(w.warning)}
				<button class="btn btn-xs btn-default pt-make-public">${__("Make public and add as CC")}</button>
				<button class="btn btn-xs btn-default pt-dismiss">${__("Dismiss")}</button></div>`).prependTo($section);
			$alert.find(".pt-make-public").on("click", () => call("resolve_third_party", { message: w.name, action: "make_public" }));
			$alert.find(".pt-dismiss").on("click", () => call("resolve_third_party", { message: w.name, action: "dismiss" }));
		}
	});
};

// Private messages (internal notes, third parties' replies) are marked "Internal" on the
// timeline, and the composer never quotes one: it quotes the last public mail instead (the
// server removes such a quote too, whatever the client sends).
persona_threading.mark_private = function (frm, names) {
	frm.pt_private = new Set(names);
	const timeline = frm.timeline;
	if (timeline && !timeline.__pt_private) {
		const last_email = timeline.get_last_email.bind(timeline);
		timeline.get_last_email = function (from_recipient) {
			const all = (frm.get_docinfo().communications || []).filter((c) => !frm.pt_private.has(c.name));
			const docinfo = frm.get_docinfo();
			const kept = docinfo.communications;
			docinfo.communications = all;
			try {
				return last_email(from_recipient);
			} finally {
				docinfo.communications = kept;
			}
		};
		const render = timeline.render_timeline_items.bind(timeline);
		timeline.render_timeline_items = function () {
			const out = render(...arguments);
			persona_threading.mark_private(frm, [...frm.pt_private]);  // re-rendered: mark again
			return out;
		};
		timeline.__pt_private = true;
	}
	for (const name of names) {
		const $item = $(frm.wrapper).find(`.timeline-item[data-name="${CSS.escape(name)}"]`);
		if ($item.length && !$item.find(".pt-internal").length) {
			$item.find(".timeline-content, .timeline-message-box").first()
				.prepend(`<span class="indicator-pill orange pt-internal">${__("Internal")}</span> `);
		}
	}
};

if (frappe.views.CommunicationComposer && !frappe.views.CommunicationComposer.__pt_quotes) {
	const earlier = frappe.views.CommunicationComposer.prototype.get_earlier_reply;
	frappe.views.CommunicationComposer.prototype.get_earlier_reply = function () {
		if (this.last_email && this.frm && this.frm.pt_private && this.frm.pt_private.has(this.last_email.name)) {
			this.last_email = null;  // falls back to the timeline's last public mail
		}
		return earlier.apply(this, arguments);
	};
	frappe.views.CommunicationComposer.__pt_quotes = true;
}

frappe.ui.form.on("Issue", {
	refresh(frm) {
		if (!frm.is_new()) persona_threading.show_participants(frm);
	},
});

// A public reply from the Issue goes to the requester, with the active CCs in Cc (followers
// are notified separately, never in a customer's headers): the composer starts that way.
if (frappe.views.CommunicationComposer && !frappe.views.CommunicationComposer.__pt_recipients) {
	const make = frappe.views.CommunicationComposer.prototype.make;
	frappe.views.CommunicationComposer.prototype.make = function () {
		const out = make.apply(this, arguments);
		const frm = this.frm;
		if (frm && frm.doctype === "Issue" && !frm.is_new()) {
			frappe
				.xcall("persona_threading.api.reply_recipients", { doctype: frm.doctype, name: frm.docname })
				.then(({ to, cc }) => {
					// merged into what stock filled in (replying to a CC's mail puts only the CC in To)
					const split = (value) => (value || "").split(",").map((a) => a.trim()).filter(Boolean);
					const has = (list, address) => list.some((a) => a.toLowerCase().includes(address.toLowerCase()));
					const recipients = split(this.dialog.get_value("recipients"));
					const copied = split(this.dialog.get_value("cc"));
					const missing_to = to.filter((a) => !has(recipients, a));
					const missing_cc = cc.filter((a) => !has(recipients, a) && !has(copied, a) && !missing_to.includes(a));
					if (missing_to.length) this.dialog.set_value("recipients", [...missing_to, ...recipients].join(", "));
					if (missing_cc.length) this.dialog.set_value("cc", [...copied, ...missing_cc].join(", "));
				});
		}
		return out;
	};
	frappe.views.CommunicationComposer.__pt_recipients = true;
}
