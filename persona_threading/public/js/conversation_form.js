// "Why here?" on the Issue form: per mail a sentence in words (how it was matched, why it is
// private, why nobody answered it automatically) and its badges; under it the rules of the
// chain by name, only the deciding and the matching ones unless "Show every rule" is on.
// Tokens and Message-IDs appear only here; a Message-ID in the evidence links to its mail.
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
			const labels = item.rule_labels || {};
			const rules = (item.attempts || [])
				.map((a) => {
					const deciding = a.matched && a.rule === item.rule;
					const interesting = deciding || (a.evidence || "").startsWith("would match");
					return `<tr class="${deciding ? "pt-deciding" : ""} ${interesting ? "" : "pt-quiet"}" data-rule="${esc(a.rule)}"
						style="${deciding ? "background: var(--bg-green); font-weight: 600;" : ""}${interesting ? "" : "display: none;"}">
						<td>${esc(labels[a.rule] || a.rule)}</td>
						<td>${a.matched ? __("yes") : __("no")}</td>
						<td class="small">${evidence(a.evidence, item.links)}</td></tr>`;
				})
				.join("");
			const when = item.received_at ? frappe.datetime.str_to_user(item.received_at) : "";
			const badges = (item.badges || []).map((b) => `<span class="indicator-pill gray pt-badge">${esc(b)}</span>`).join(" ");
			const facts = [item.private, item.no_reply].filter(Boolean).map((f) => `<div class="pt-fact">${esc(f)}</div>`).join("");
			const mail = item.communication
				? `<a class="small" href="/app/communication/${encodeURIComponent(item.communication)}">${__("Open the mail")}</a>`
				: "";
			return `<div class="pt-why-message" style="margin-bottom: var(--margin-lg)">
				<div class="pt-why-summary">
					<span class="text-muted">${esc(when)}</span> <b>${esc(item.sender || "")}</b> ${badges}
					<div class="pt-verdict" style="font-size: var(--text-lg)">${esc(item.summary || "")}</div>
					${facts}
					${mail}
				</div>
				${rules ? `<table class="table table-bordered table-sm pt-why-rules" style="margin-top: var(--margin-sm)">
					<thead><tr><th>${__("Rule")}</th><th>${__("Matched")}</th><th>${__("Evidence")}</th></tr></thead>
					<tbody>${rules}</tbody></table>` : ""}
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
					const received = (message || []).filter((m) => m.direction === "Inbound");
					const dialog = new frappe.ui.Dialog({
						title: __("Why did these emails land here?"),
						size: "extra-large",
						fields: [
							{ fieldtype: "Check", fieldname: "all_rules", label: __("Show every rule") },
							{ fieldtype: "HTML", fieldname: "body" },
						],
					});
					dialog.fields_dict.body.$wrapper.html(
						persona_threading.why_here_html(received) ||
							`<p class="text-muted">${__("No received email on this document yet.")}</p>`
					);
					dialog.fields_dict.all_rules.$input.on("change", (e) =>
						dialog.$wrapper.find("tr.pt-quiet").toggle(e.target.checked)
					);
					dialog.show();
				},
			});
		});
	},
});

// The participants panel: requester, CCs, followers (with active state and parent record),
// buttons to add/remove a follower or a CC (an inactive CC can be added back), Follow /
// Unfollow for the agent looking at it, and a warning for each third party's reply until an
// agent makes it public (adding its sender as CC) or dismisses it.
persona_threading.FOLLOWING_ROLES = ["Follower", "Agent", "Assignee"];

persona_threading.participants_html = function (people) {
	const esc = frappe.utils.escape_html;
	const rows = people.map((p) => {
		const parent = p.follower_doctype
			? `<a href="/app/${frappe.router.slug(p.follower_doctype)}/${encodeURIComponent(p.follower_name)}">${esc(p.follower_doctype)}</a>`
			: `<span class="text-muted">${__("no record")}</span>`;
		// A third party wrote in but takes part in nothing: never "active".
		const state = p.role === "Third party" ? __("not a participant") : p.active ? __("active") : __("inactive");
		const bounced = p.delivery_status ? ` <span class="indicator-pill red" title="${esc(p.bounce_reason || "")}">${esc(__(p.delivery_status))}</span>` : "";
		const removable = p.active && ["CC", "Follower", "Agent"].includes(p.role);
		const restorable = !p.active && p.role === "CC";
		return `<tr class="pt-participant" data-email="${esc(p.email)}" data-role="${esc(p.role)}">
			<td>${esc(p.email)}${bounced}</td><td class="pt-role">${esc(__(p.role))}</td>
			<td class="pt-state ${p.active ? "" : "text-muted"}">${state}</td><td>${parent}</td>
			<td>${removable ? `<button class="btn btn-xs btn-default pt-remove">${__("Remove")}</button>` : ""}${
				restorable ? `<button class="btn btn-xs btn-default pt-restore">${__("Add back")}</button>` : ""}</td></tr>`;
	});
	const me = (frappe.session.user_email || frappe.session.user || "").toLowerCase();
	const following = people.some((p) => p.active && p.email === me && persona_threading.FOLLOWING_ROLES.includes(p.role));
	return `<table class="table table-sm pt-participants" style="margin-bottom: var(--margin-sm)">
		<thead><tr><th>${__("Email")}</th><th>${__("Role")}</th><th>${__("State")}</th><th>${__("Record")}</th><th></th></tr></thead>
		<tbody>${rows.join("") || `<tr><td colspan="5" class="text-muted">${__("Nobody yet")}</td></tr>`}</tbody></table>
		<button class="btn btn-xs btn-default pt-add-cc">${__("Add CC")}</button>
		<button class="btn btn-xs btn-default pt-add-follower">${__("Add follower")}</button>
		<button class="btn btn-xs btn-default ${following ? "pt-unfollow" : "pt-follow"}">${following ? __("Unfollow") : __("Follow")}</button>`;
};

persona_threading.show_participants = function (frm) {
	const args = { doctype: frm.doctype, name: frm.docname };
	frappe.xcall("persona_threading.api.conversation_participants", args).then(({ participants, warnings, private: hidden, received, badges }) => {
		persona_threading.mark_private(frm, hidden || []);
		frm.pt_badges = badges || {};
		persona_threading.show_message_badges(frm);
		frm.pt_received = new Set(received || []); // public mail from customers: "Make internal"
		if (frm.timeline && frm.timeline.__pt_internal && frm.pt_received.size) frm.timeline.refresh();
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
		const role_of = ($row) => ($row.attr("data-role") === "CC" ? "CC" : "Follower"); // an Agent unfollows
		$section.find(".pt-remove").on("click", (e) => {
			const $row = $(e.currentTarget).closest("tr");
			call("set_participant", { email: $row.attr("data-email"), role: role_of($row), active: 0 });
		});
		$section.find(".pt-restore").on("click", (e) => {
			const $row = $(e.currentTarget).closest("tr");
			call("set_participant", { email: $row.attr("data-email"), role: "CC", active: 1 });
		});
		const me = frappe.session.user_email || frappe.session.user;
		$section.find(".pt-follow").on("click", () => call("set_participant", { email: me, role: "Follower", active: 1 }));
		$section.find(".pt-unfollow").on("click", () => call("set_participant", { email: me, role: "Follower", active: 0 }));
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
			persona_threading.show_message_badges(frm);
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

// Each mail's badges (auto-reply, bounce, third party, forwarded by) on its own card, in the
// reader's language (the server says them); "Internal" is mark_private's.
persona_threading.show_message_badges = function (frm) {
	for (const [name, labels] of Object.entries(frm.pt_badges || {})) {
		const $item = $(frm.wrapper).find(`.timeline-item[data-name="${CSS.escape(name)}"]`);
		if (!$item.length || $item.find(".pt-message-badge").length) continue;
		const pills = labels.map((label) =>
			`<span class="indicator-pill gray pt-message-badge">${frappe.utils.escape_html(label)}</span>`);
		$item.find(".timeline-content, .timeline-message-box").first().prepend(pills.join(" ") + " ");
	}
};

// The app's audit events are stored as phrases (template and parameters) and said by the
// server in the reader's language (timeline.routing_lines): stock's Info rows would show
// their JSON, so stock leaves them out.
persona_threading.leave_phrases_to_the_server = function (frm) {
	const timeline = frm.timeline;
	if (!timeline || timeline.__pt_phrases) return false;
	const info = timeline.get_info_timeline_contents.bind(timeline);
	timeline.get_info_timeline_contents = function () {
		const logs = this.doc_info.info_logs;
		this.doc_info.info_logs = (logs || []).filter((log) => !(log.content || "").startsWith('{"phrase":'));
		try {
			return info();
		} finally {
			this.doc_info.info_logs = logs;
		}
	};
	timeline.__pt_phrases = true;
	return true;
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
	onload(frm) {
		persona_threading.leave_phrases_to_the_server(frm);  // before the timeline's first render
	},
	refresh(frm) {
		if (persona_threading.leave_phrases_to_the_server(frm) && !frm.is_new()) frm.timeline.refresh();
		if (!frm.is_new()) persona_threading.show_participants(frm);
	},
});

// A public reply from the Issue goes to the requester, with the active CCs in Cc (followers
// are notified separately, never in a customer's headers): the composer starts that way, and
// never puts back a CC who is no longer on the conversation (an agent's response left them
// off, or the panel removed them), whatever stock's Reply / Reply All copied.
persona_threading.apply_reply_recipients = function (composer, { to, cc, inactive }) {
	// merged into what stock filled in (replying to a CC's mail puts only the CC in To)
	const dialog = composer.dialog;
	const split = (value) => (value || "").split(",").map((a) => a.trim()).filter(Boolean);
	// "Ann <ann@x.com>" is ann@x.com, and joann@x.com is someone else: whole addresses compare
	const bare = (a) => ((/<([^>]*)>/.exec(a) || [])[1] || a).trim().toLowerCase();
	const has = (list, address) => list.some((a) => bare(a) === bare(address));
	const gone = (a) => (inactive || []).some((i) => bare(i) === bare(a));
	const stock_to = split(dialog.get_value("recipients"));
	const stock_cc = split(dialog.get_value("cc"));
	const recipients = stock_to.filter((a) => !gone(a));
	const copied = stock_cc.filter((a) => !gone(a));
	const missing_to = to.filter((a) => !has(recipients, a));
	const missing_cc = cc.filter((a) => !has(recipients, a) && !has(copied, a) && !missing_to.includes(a));
	const set = (fieldname, addresses) => {
		const value = addresses.join(", ");
		if (!value) dialog.fields_dict[fieldname].$input.val(""); // stock's MultiSelect shows no empty value
		return dialog.set_value(fieldname, value);
	};
	const pending = [];
	if (missing_to.length || recipients.length < stock_to.length) pending.push(set("recipients", [...missing_to, ...recipients]));
	if (missing_cc.length || copied.length < stock_cc.length) pending.push(set("cc", [...copied, ...missing_cc]));
	dialog.pt_recipients = { to, cc, inactive }; // done: the agent's own edits stay theirs
	return Promise.all(pending).then(() => {
		// Stock opens the Cc/Bcc section only for what it filled itself, before ours arrives:
		// a Cc we add must never be mailed unseen.
		if (split(dialog.get_value("cc")).length && composer.toggle_more_options) composer.toggle_more_options(true);
	});
};

if (frappe.views.CommunicationComposer && !frappe.views.CommunicationComposer.__pt_recipients) {
	const proto = frappe.views.CommunicationComposer.prototype;
	const make = proto.make;
	proto.make = function () {
		const frm = this.frm;
		if (frm && frm.doctype === "Issue" && !frm.is_new()) {
			this.pt_recipients_request = frappe.xcall("persona_threading.api.reply_recipients",
				{ doctype: frm.doctype, name: frm.docname });
		}
		return make.apply(this, arguments);
	};
	// Stock fills To and Cc asynchronously (and again when the sender is chosen): ours goes last.
	const set_values = proto.set_values;
	proto.set_values = async function () {
		const out = await set_values.apply(this, arguments);
		if (this.pt_recipients_request) {
			await persona_threading.apply_reply_recipients(this, await this.pt_recipients_request);
		}
		return out;
	};
	const setup_recipients_if_reply = proto.setup_recipients_if_reply;
	proto.setup_recipients_if_reply = function () {
		const out = setup_recipients_if_reply.apply(this, arguments);
		if (this.dialog && this.dialog.pt_recipients) {
			persona_threading.apply_reply_recipients(this, this.dialog.pt_recipients);
		}
		return out;
	};
	frappe.views.CommunicationComposer.__pt_recipients = true;
}

// "Make internal" on a received mail's timeline menu: a customer's public mail becomes an
// internal note (desk users only from then on; the server checks who may and what).
persona_threading.add_make_internal_action = function (frm) {
	const timeline = frm.timeline;
	if (!timeline || timeline.__pt_internal) return;
	const setup_reply = timeline.setup_reply.bind(timeline);
	timeline.setup_reply = function (box, doc) {
		setup_reply(box, doc);
		if (!frm.pt_received || !frm.pt_received.has(doc.name)) return; // v15's rows say not who sent them
		$(`<li><a class="dropdown-item pt-make-internal">${__("Make internal")}</a></li>`)
			.appendTo(box.find(".more-actions .dropdown-menu"))
			.on("click", () =>
				frappe.confirm(__("Make this mail an internal note? Customers will no longer see it."), () =>
					frappe
						.xcall("persona_threading.api.make_internal", { communication: doc.name })
						.then(() => frm.reload_doc())
				)
			);
	};
	timeline.__pt_internal = true; // the participants' answer refreshes the timeline
};

frappe.ui.form.on("Issue", {
	refresh(frm) {
		if (!frm.is_new()) persona_threading.add_make_internal_action(frm);
	},
});
