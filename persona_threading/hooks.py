"""Wiring only: every handler lives in persona_threading.frappe_adapter."""

app_name = "persona_threading"
app_title = "Persona Threading"
app_publisher = "persona_threading developers"
app_description = "Explainable email threading and routing for Frappe/ERPNext helpdesks"
app_email = "dev@persona-threading.invalid"
app_license = "MIT"

# "org/app" form: a bare "erpnext" makes frappe.installer ask GitHub for the org (fails offline).
required_apps = ["frappe/erpnext"]

after_install = "persona_threading.frappe_adapter.install.after_install"
after_migrate = "persona_threading.frappe_adapter.install.after_migrate"
before_uninstall = "persona_threading.frappe_adapter.install.before_uninstall"
# What routing keeps in the site's cache goes with Frappe's (bench clear-cache, a restore).
clear_cache = "persona_threading.frappe_adapter.lookup.forget_inbox_addresses"
# An app installed later that overrides Email Account too (Frappe Helpdesk): build on it.
after_app_install = "persona_threading.frappe_adapter.account_class.after_app_install"

# Suspended machine mail is cleared after PT Settings' days.
scheduler_events = {
	"daily": ["persona_threading.frappe_adapter.jobs.clear_old_suspended_mail"],
}

override_doctype_class = {
	# Built per site on the override it replaces (Helpdesk's, when installed): account_class.py
	"Email Account": "persona_threading.frappe_adapter.account_class.PTEmailAccount",
	# An admin's automated mail may go to the conversation's requester (and CCs): automated_mail.py
	"Notification": "persona_threading.frappe_adapter.automated_mail.PTNotification",
}

# Our records point at Communications and documents; they must never block deleting them.
ignore_links_on_delete = ["PT Conversation", "PT Conversation Message", "PT Inbound Queue", "PT Automatic Mail", "PT Preview",
						  "PT Preview Disagreement"]

doc_events = {
	"Communication": {
		"before_insert": ["persona_threading.frappe_adapter.outbound.stamp_communication",
						  "persona_threading.frappe_adapter.helpdesk.hold_for_automated"],
		"after_insert": "persona_threading.frappe_adapter.outbound.keep_record_unstamped",
		"validate": "persona_threading.frappe_adapter.outbound.unstamp_received",
		"on_trash": "persona_threading.frappe_adapter.store.forget_communication",
	},
	"Email Queue": {
		"before_insert": "persona_threading.frappe_adapter.outbound.thread_email_queue",
	},
	"Project": {
		"validate": "persona_threading.frappe_adapter.routing_config.validate_project_prefix",
	},
	# Notes written in the desk reach the followers; the conversation keeps its Issue's project.
	"Comment": {
		"after_insert": "persona_threading.frappe_adapter.notifications.desk_note",
	},
	"Issue": {
		"before_insert": "persona_threading.frappe_adapter.helpdesk.route_new_ticket",  # its project on the insert
		"after_insert": "persona_threading.frappe_adapter.helpdesk.assign_forwarder",  # before the rules run
		"on_update": "persona_threading.frappe_adapter.store.follow_project",
		"onload": "persona_threading.frappe_adapter.snippets.mark_sent_mail",
	},
	# Frappe Helpdesk (frappe_adapter/helpdesk.py): the engine's status on receipt, routing in words.
	"HD Ticket": {
		"before_insert": "persona_threading.frappe_adapter.helpdesk.route_new_ticket",
		"after_insert": "persona_threading.frappe_adapter.helpdesk.assign_forwarder",
		"before_validate": "persona_threading.frappe_adapter.helpdesk.keep_engine_status",
	},
	"HD Ticket Comment": {  # a note written in Helpdesk's agent UI reaches the followers
		"after_insert": "persona_threading.frappe_adapter.helpdesk.note",
	},
	"HD Team": {
		"validate": "persona_threading.frappe_adapter.routing_config.validate_project_prefix",
	},
	"PT Conversation Message": {
		"after_insert": "persona_threading.frappe_adapter.helpdesk.log_activity",
	},
	"Email Account": {
		"validate": ["persona_threading.frappe_adapter.routing_config.validate_email_account_routing",
					 "persona_threading.frappe_adapter.auto_reply.validate_template"],
		# the inbox addresses routing keeps in the site's cache (frappe_adapter/lookup.py)
		"on_update": "persona_threading.frappe_adapter.lookup.forget_inbox_addresses",
		"on_trash": "persona_threading.frappe_adapter.lookup.forget_inbox_addresses",
		"after_rename": "persona_threading.frappe_adapter.lookup.forget_inbox_addresses",
	},
}

# One routing line per received mail, in words, built when the form loads (frappe_adapter/timeline.py).
additional_timeline_content = {
	"Issue": ["persona_threading.frappe_adapter.timeline.routing_lines"],
	"HD Ticket": ["persona_threading.frappe_adapter.timeline.routing_lines"],  # its desk form
}

doctype_js = {
	"Issue": ["public/js/conversation_form.js", "public/js/snippets.js"],
	"PT Inbound Queue": "public/js/inbound_queue.js",
	"HD Ticket": ["public/js/conversation_form.js", "public/js/hd_ticket_form.js"],
	"PT Settings": "public/js/pt_settings.js",
}

# Private messages (internal notes, third parties' replies): desk users only, everywhere.
# A light agent never mails the customer from an Issue (internal notes only).
has_permission = {
	"Communication": "persona_threading.frappe_adapter.privacy.communication_permission",
	"Issue": "persona_threading.frappe_adapter.privacy.conversation_permission",
}
permission_query_conditions = {
	"Communication": "persona_threading.frappe_adapter.privacy.communication_query_conditions",
}
update_website_context = ["persona_threading.frappe_adapter.privacy.hide_private_from_portal"]

# A participant's Contact or Customer lists their conversations.
override_doctype_dashboards = {
	"Contact": "persona_threading.frappe_adapter.participants.contact_dashboard",
	"Customer": "persona_threading.frappe_adapter.participants.customer_dashboard",
}

# Frappe Helpdesk's ticket endpoint (agent UI and customer portal) reads Communications with its
# own query: private mail is removed there for anyone but desk users.
override_whitelisted_methods = {
	"helpdesk.helpdesk.doctype.hd_ticket.api.get_one": "persona_threading.frappe_adapter.helpdesk.get_one",
}
