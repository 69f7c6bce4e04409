"""Wiring only: every handler lives in persona_threading.frappe_adapter."""

app_name = "persona_threading"
app_title = "Persona Threading"
app_publisher = "persona_threading developers"
app_description = "Explainable email threading and routing for Frappe/ERPNext helpdesks"
app_email = "dev@persona-threading.invalid"
app_license = "MIT"

required_apps = ["erpnext"]

after_install = "persona_threading.frappe_adapter.install.after_install"
after_migrate = "persona_threading.frappe_adapter.install.after_migrate"
before_uninstall = "persona_threading.frappe_adapter.install.before_uninstall"

override_doctype_class = {
	"Email Account": "persona_threading.frappe_adapter.email_account.PTEmailAccount",
}

doc_events = {
	"Communication": {
		"before_insert": "persona_threading.frappe_adapter.outbound.stamp_communication",
	},
	"Email Queue": {
		"before_insert": "persona_threading.frappe_adapter.outbound.thread_email_queue",
	},
}

doctype_js = {
	"Issue": "public/js/conversation_form.js",
}
