app_name = "persona_threading"
app_title = "Persona Threading"
app_publisher = "persona_threading developers"
app_description = "Explainable email threading and routing for Frappe/ERPNext helpdesks"
app_email = "dev@persona-threading.invalid"
app_license = "MIT"

required_apps = ["erpnext"]
