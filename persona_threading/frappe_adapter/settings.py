"""PT Settings, read once per request."""

from __future__ import annotations

import frappe

from ..engine.carriers import Keyring, generate_secret
from ..engine.outgoing import Carriers

SETTINGS = "PT Settings"


def settings():
	return frappe.get_cached_doc(SETTINGS)


def enabled() -> bool:
	return bool(settings().enabled)


def conversation_doctype() -> str:
	return settings().conversation_doctype or "Issue"


def keyring() -> Keyring:
	"""The site's token keyring; the secret is created on first use if install did not."""
	secret = settings().get_password("token_secret", raise_exception=False)
	if not secret:
		secret = ensure_secret()
	return Keyring(secret)


def ensure_secret() -> str:
	doc = frappe.get_doc(SETTINGS)
	secret = doc.get_password("token_secret", raise_exception=False)
	if not secret:
		secret = generate_secret()
		doc.token_secret = secret
		doc.flags.ignore_permissions = True
		doc.save()
	return secret


def carriers() -> Carriers:
	s = settings()
	return Carriers(
		subject_token=bool(s.stamp_subject_token),
		body_token=bool(s.stamp_body_token),
		ticket_tag=bool(s.stamp_ticket_tag),
		subject_tag=bool(s.stamp_subject_tag),
		plus_reply_to=bool(s.plus_reply_to),
	)
