"""Which Email Account class runs, and the app's built on whatever it would replace.

Frappe 15 uses the ``override_doctype_class`` of the app installed last. Frappe Helpdesk
overrides Email Account too (its class skips mail carrying ``X-Auto-Generated``), and so may
any other app. So the class the hook names, ``PTEmailAccount`` of this module, is built per
site on the override the app would otherwise replace: the last one of the apps before it in
the site's installed apps, else stock's. Its ``super()`` calls reach that class, which keeps
doing what it does.

Either install order works: when an app that overrides Email Account is installed after this
one (``after_app_install``), this app moves itself last in the site's installed apps, so its
class (built on the other's) is the one in effect. When another app's class still wins (an
admin reordered the apps; an app installed under a version of this app without the hook),
System Managers get a notification, and PT Settings shows a banner naming the class in
effect and the fix (``put_last``). Mail is never silently bypassed.
"""

from __future__ import annotations

import sys

import frappe
from frappe import _
from frappe.email.doctype.email_account.email_account import EmailAccount
from frappe.email.receive import InboundMail

from . import conversations
from .alerts import tell_system_managers
from .email_account import PTEmailAccount as _AppEmailAccount
from .email_account import SafeInboundMail

APP = "persona_threading"
HOOK = f"{APP}.frappe_adapter.account_class.PTEmailAccount"
DOCTYPE = "Email Account"
_composed: dict[type, type] = {}


class _TolerantBytes(bytes):
	"""A fetched mail as bytes whose ``decode()`` never raises: Helpdesk's copy of stock's loop
	decodes every mail as UTF-8 to read one header (a mail handed over as text has no decode()),
	and one raw 8-bit mail would otherwise drop the whole pull (with the IMAP UIDs moved on)."""

	def decode(self, encoding="utf-8", errors="replace"):  # no surrogates: the stdlib parses the str
		return bytes.decode(self, encoding, "replace" if errors == "strict" else errors)


class _SafeMailBelow:
	"""Between the app's class and another app's: that app's copy of stock's fetching loop (as
	Helpdesk's) builds the same SafeInboundMail the app builds for stock's loop, and reads
	every fetched mail."""

	def get_incoming_server(self, *args, **kwargs):
		server = super().get_incoming_server(*args, **kwargs)
		fetch = getattr(server, "get_messages", None)
		if fetch is not None and kwargs.get("in_receive"):
			def get_messages(*a, **kw):
				messages = fetch(*a, **kw) or {}
				if messages.get("latest_messages"):
					messages["latest_messages"] = [_TolerantBytes(m if isinstance(m, bytes) else
																  str(m).encode("utf-8", "surrogateescape"))
												   for m in messages["latest_messages"]]
				return messages

			server.get_messages = get_messages
		return server

	def get_inbound_mails(self):
		below = type(self).__mro__[type(self).__mro__.index(_SafeMailBelow) + 1:]
		modules = {sys.modules[c.__module__] for c in below
				   if getattr(sys.modules.get(c.__module__), "InboundMail", None) is InboundMail}
		for module in modules:
			module.InboundMail = SafeInboundMail
		try:
			mails = super().get_inbound_mails()
		finally:
			for module in modules:
				module.InboundMail = InboundMail
		for mail in mails:  # plain bytes again from here on
			if isinstance(getattr(mail, "raw_message", None), _TolerantBytes):
				mail.raw_message = bytes(mail.raw_message)
		return mails


def overrides() -> list[str]:
	"""Every app's Email Account override, in the site's installed-apps order (last wins)."""
	return list(frappe.get_hooks("override_doctype_class").get(DOCTYPE, []))


def base_path() -> str | None:
	"""The override the app's class builds on: the last one before the app's own."""
	found = overrides()
	below = found[:found.index(HOOK)] if HOOK in found else found
	below = [path for path in below if path != HOOK]
	return below[-1] if below else None


def compose(base: type) -> type:
	"""The app's class on top of ``base`` (cached: one class per base, so pickles resolve)."""
	if base is EmailAccount or not issubclass(base, EmailAccount):
		return _AppEmailAccount
	if base not in _composed:
		_composed[base] = type("PTEmailAccount", (_AppEmailAccount, _SafeMailBelow, base), {
			"__module__": __name__, "__qualname__": "PTEmailAccount",
			"__doc__": f"persona_threading's Email Account on top of {base.__module__}.{base.__qualname__}"})
	return _composed[base]


def __getattr__(name: str):
	"""``PTEmailAccount``: the app's class for the current site (what the hook names)."""
	if name != "PTEmailAccount":
		raise AttributeError(name)
	path = base_path() if getattr(frappe.local, "site", None) else None
	return compose(frappe.get_attr(path)) if path else _AppEmailAccount


# -- which class is in effect ---------------------------------------------------------------


def status() -> dict:
	"""What PT Settings shows: the class Frappe uses for Email Account, whether it is the
	app's, what the app builds on, and (when another app's wins) the fix."""
	found = overrides()
	in_effect = found[-1] if found else "frappe.email.doctype.email_account.email_account.EmailAccount"
	ours = in_effect == HOOK
	base = base_path()
	state = {"in_effect": in_effect, "ours": ours, "built_on": base if ours else None, "app": _app_of(in_effect)}
	if not ours:
		state["fix"] = (f"bench --site {frappe.local.site} execute {__name__}.put_last "
						f"(or PT Settings → Use persona_threading's Email Account)")
		state["message"] = _(
			"Email Account mail is handled by {0} (app {1}, after persona_threading in the installed apps): "
			"persona_threading routes no mail, Issue mail included. Fix: {2}").format(
			in_effect, state["app"] or "?", state["fix"])
	return state


def _app_of(path: str) -> str | None:
	return next((app for app in frappe.get_installed_apps() if path in _overrides_of(app)), None)


def _overrides_of(app: str) -> list[str]:
	return (frappe.get_hooks("override_doctype_class", app_name=app) or {}).get(DOCTYPE, [])


def put_last() -> list[str]:
	"""Move the app last in the site's installed apps: its class (built on the others') runs."""
	order = frappe.get_installed_apps()
	if APP not in order or order[-1] == APP:
		return order
	order = [app for app in order if app != APP] + [APP]
	frappe.db.set_global("installed_apps", frappe.as_json(order))
	frappe.db.commit()  # nosemgrep: the order is the site's configuration, read by every worker
	frappe.clear_cache()
	# clear_cache() caches the hooks again from this process's memo of them, read in the old
	# order (in a real `bench install-app` every later process got the other app's class):
	# drop them, so each process reads them in the new order.
	frappe.cache.delete_value("app_hooks")
	from frappe.cache_manager import clear_controller_cache

	clear_controller_cache(DOCTYPE)
	conversations.forget()
	return order


def after_app_install(app: str) -> None:
	"""An app installed after this one that overrides Email Account: build on it (move last).
	Then the Helpdesk fields, when it is Helpdesk (helpdesk.install_fields)."""
	if app != APP and _overrides_of(app):
		put_last()
	conversations.forget()
	from . import helpdesk

	helpdesk.install_fields()
	check()


def check() -> bool:
	"""True when the app's class is in effect; else System Managers are told, once per class."""
	state = status()
	if state["ours"]:
		return True
	tell_system_managers(_("persona_threading is bypassed: Email Account is handled by {0}").format(state["in_effect"]),
						 state["message"], "PT Settings", "PT Settings")
	return False


@frappe.whitelist()
def class_in_effect() -> dict:
	"""PT Settings' banner (System Managers)."""
	frappe.only_for("System Manager")
	return status()


@frappe.whitelist(methods=["POST"])
def use_app_class() -> dict:
	"""PT Settings' fix button: the app's class in effect again, built on the other app's."""
	frappe.only_for("System Manager")
	put_last()
	return status()
