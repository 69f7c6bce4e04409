// Text snippets in the Issue's email composer: type "!" at the start of a word, filter, then
// Enter, Tab or a click inserts the snippet (merge codes filled in from the Issue) in place
// of "!" and the filter text. Escape closes the menu and leaves the text as typed. The menu
// also offers "Save as snippet…" of the text typed so far: without the "!filter" that opened
// the menu, the signature and the quoted earlier mail the composer added. On the Issue
// timeline, a message sent from the desk has "Save as snippet" in its "…" menu.
frappe.provide("persona_threading.snippets");

(function () {
	const API = "persona_threading.api.";
	const TRIGGER = /(^|\s)!([^\s!]*)$/; // "!" opening a word; "hi!" never opens the menu
	const esc = (s) => frappe.utils.escape_html(s || "");
	const preview = (html) => {
		const text = $("<div>").html(html || "").text().replace(/\s+/g, " ").trim();
		return text.length > 80 ? text.slice(0, 79) + "…" : text;
	};

	class SnippetMenu {
		constructor(quill, doc, composer) {
			this.quill = quill;
			this.doc = doc;
			this.composer = composer;
			this.items = [];
			this.active = 0;
			this.trigger = null; // {index, length} of "!filter" while the menu is open
			this.request = 0;
			this.$menu = $(`<div class="pt-snippet-menu dropdown-menu" role="listbox"
				style="position:absolute; display:none; max-height:300px; overflow-y:auto; z-index:1100; min-width:280px"></div>`)
				.appendTo(quill.container);
			this.$menu.on("mousedown", ".pt-snippet-item", (e) => {
				e.preventDefault();
				this.active = Number($(e.currentTarget).attr("data-index"));
				this.choose();
			});
			quill.on("text-change", (delta, old, source) => source === "user" && this.update());
			quill.on("selection-change", (range) => !range && this.close());
			// Capture phase on the container: before Quill (Enter = new line) and before the
			// dialog (Escape = close the composer) see the key.
			quill.container.addEventListener("keydown", (e) => this.keydown(e), true);
		}

		update() {
			const range = this.quill.getSelection();
			if (!range) return this.close();
			const before = this.quill.getText(Math.max(0, range.index - 60), Math.min(range.index, 60));
			const found = TRIGGER.exec(before);
			if (!found) return this.close();
			const filter = found[2];
			this.trigger = { index: range.index - filter.length - 1, length: filter.length + 1 };
			const ticket = ++this.request;
			frappe
				.xcall(API + "search_snippets", { txt: filter, doctype: this.doc.doctype, name: this.doc.name })
				.then((items) => {
					if (ticket !== this.request || !this.trigger) return;
					this.items = items || [];
					this.active = 0;
					this.show();
				});
		}

		show() {
			const rows = this.items.map(
				(item, i) => `<a class="dropdown-item pt-snippet-item ${i === this.active ? "active" : ""}"
					data-index="${i}" data-name="${esc(item.name)}" role="option">
					<div>${item.pinned ? "📌 " : ""}<b>${esc(item.title)}</b></div>
					<div class="text-muted small">${esc(preview(item.content))}</div></a>`
			);
			rows.push(`<div class="dropdown-divider"></div>
				<a class="dropdown-item pt-snippet-item pt-save-snippet" data-index="${this.items.length}">
				${__("Save as snippet…")}</a>`);
			const bounds = this.quill.getBounds(this.trigger.index);
			this.$menu
				.html(rows.join(""))
				.css({ top: bounds.bottom + 4, left: bounds.left, display: "block" });
		}

		close() {
			this.trigger = null;
			this.request++;
			this.$menu.hide();
		}

		keydown(e) {
			if (!this.trigger || !this.$menu.is(":visible")) return;
			const count = this.items.length + 1; // + "Save as snippet…"
			const stop = () => (e.preventDefault(), e.stopPropagation());
			if (e.key === "ArrowDown" || e.key === "ArrowUp") {
				stop();
				this.active = (this.active + (e.key === "ArrowDown" ? 1 : count - 1)) % count;
				this.show();
			} else if (e.key === "Enter" || e.key === "Tab") {
				stop();
				this.choose();
			} else if (e.key === "Escape") {
				stop();
				this.close();
			}
		}

		choose() {
			const trigger = this.trigger;
			if (this.active >= this.items.length) {
				this.close();
				this.quill.deleteText(trigger.index, trigger.length, "user"); // "!filter" opened the menu
				return this.save_typed_text();
			}
			const item = this.items[this.active];
			this.close();
			frappe
				.xcall(API + "render_snippet", { snippet: item.name, doctype: this.doc.doctype, name: this.doc.name })
				.then(({ content, unknown_codes }) => {
					let html = content || "";
					for (const code of unknown_codes || []) {
						// left visible for the agent to fix, and highlighted
						html = html.split(`{{ ${code} }}`).join(`<span style="background-color: #fff3a3;">{{ ${esc(code)} }}</span>`);
					}
					this.quill.deleteText(trigger.index, trigger.length, "user");
					this.quill.clipboard.dangerouslyPasteHTML(trigger.index, html, "user");
					this.quill.focus();
				});
		}

		// The server keeps the agent's own text (engine/snippet_text.py, as for a sent message):
		// not the quoted earlier mail stock's composer added below it, nor the signature.
		save_typed_text() {
			const content = this.quill.root.innerHTML;
			const dialog = this.composer && this.composer.dialog;
			const sender = (dialog && dialog.get_value("sender")) || "";
			frappe.prompt(
				{ fieldname: "title", fieldtype: "Data", label: __("Snippet title"), reqd: 1 },
				({ title }) =>
					frappe
						.xcall(API + "save_snippet", { title, content, sender })
						.then(() => frappe.show_alert({ message: __("Snippet saved"), indicator: "green" })),
				__("Save as snippet")
			);
		}
	}

	persona_threading.snippets.attach = function (composer) {
		const frm = composer.frm;
		const field = composer.dialog && composer.dialog.fields_dict.content;
		if (!frm || frm.doctype !== "Issue" || !field || !field.quill || field.quill.__pt_snippets) return;
		field.quill.__pt_snippets = new SnippetMenu(field.quill, { doctype: frm.doctype, name: frm.docname }, composer);
	};

	// Every composer opened from an Issue gets the menu (one patch per page load).
	if (frappe.views.CommunicationComposer && !frappe.views.CommunicationComposer.__pt_snippets) {
		const make = frappe.views.CommunicationComposer.prototype.make;
		frappe.views.CommunicationComposer.prototype.make = function () {
			const out = make.apply(this, arguments);
			persona_threading.snippets.attach(this);
			return out;
		};
		frappe.views.CommunicationComposer.__pt_snippets = true;
	}

	// "Save as snippet" on messages sent from the desk (never on received mail).
	persona_threading.snippets.add_timeline_action = function (frm) {
		const timeline = frm.timeline;
		if (!timeline || timeline.__pt_snippets) return;
		const setup_reply = timeline.setup_reply.bind(timeline);
		timeline.setup_reply = function (box, doc) {
			setup_reply(box, doc);
			// v15's timeline rows carry no sent_or_received: the form's onload names the sent ones.
			const sent = doc.sent_or_received
				? doc.sent_or_received === "Sent"
				: ((frm.doc.__onload || {}).pt_sent_mail || []).includes(doc.name);
			if (!sent || (doc.communication_type || "Communication") !== "Communication") return;
			$(`<li><a class="dropdown-item pt-save-as-snippet">${__("Save as snippet")}</a></li>`)
				.appendTo(box.find(".more-actions .dropdown-menu"))
				.on("click", () =>
					frappe.prompt(
						{ fieldname: "title", fieldtype: "Data", label: __("Snippet title"), reqd: 1, default: doc.subject },
						({ title }) =>
							frappe
								.xcall(API + "save_snippet_from_communication", { communication: doc.name, title })
								.then(() => frappe.show_alert({ message: __("Snippet saved"), indicator: "green" })),
						__("Save as snippet")
					)
				);
		};
		timeline.__pt_snippets = true;
		timeline.refresh();
	};

	frappe.ui.form.on("Issue", {
		refresh(frm) {
			persona_threading.snippets.add_timeline_action(frm);
		},
	});
})();
