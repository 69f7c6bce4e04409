"""persona_threading: explainable email threading and routing for Frappe/ERPNext helpdesks."""

__version__ = "0.1.0"
