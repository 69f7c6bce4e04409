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

override_doctype_class = {
	"Email Account": "persona_threading.frappe_adapter.email_account.PTEmailAccount",
}

# Our records point at Communications and documents; they must never block deleting them.
ignore_links_on_delete = ["PT Conversation", "PT Conversation Message", "PT Inbound Queue", "PT Automatic Mail", "PT Preview",
						  "PT Preview Disagreement"]

doc_events = {
	"Communication": {
		"before_insert": "persona_threading.frappe_adapter.outbound.stamp_communication",
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
	"Email Account": {
		"validate": "persona_threading.frappe_adapter.routing_config.validate_email_account_routing",
	},
}

doctype_js = {
	"Issue": ["public/js/conversation_form.js", "public/js/snippets.js"],
	"PT Inbound Queue": "public/js/inbound_queue.js",
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
