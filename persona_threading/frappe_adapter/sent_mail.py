"""Carriers into a queued mail built from a message of its own.

Mail sent from a document's form goes out with the Communication's content, which
``outbound.stamp_communication`` stamped already. Other code passes its own text to
``frappe.sendmail`` (Frappe Helpdesk's agent reply, acknowledgement and feedback mail), so
its Email Queue row carries no token: here the queued MIME gets the conversation's subject
token, body token and hidden tag (as configured), parsed and written back with the policy
Frappe built it with (quoted-printable bodies keep Frappe's send-time placeholders).
``set_headers`` writes threading headers into a queued mail's raw MIME (for outbound and
notifications alike: notifications need not import outbound, which imports it).
"""

from __future__ import annotations

import re
from email import policy
from email.parser import Parser

from ..engine.outgoing import Carriers, stamp

_REPLY = re.compile(r"^\s*(re|aw|sv)\s*:", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_HEADER_END = re.compile(r"\r?\n\r?\n")
_AUTO_GENERATED = re.compile(r"^X-Auto-Generated:", re.IGNORECASE | re.MULTILINE)


def marked_automatic(raw: str) -> bool:
	"""Whether a queued mail is marked automatic the way Frappe Helpdesk marks its
	acknowledgement and feedback mail (``X-Auto-Generated``)."""
	return bool(_AUTO_GENERATED.search(_HEADER_END.split(raw, 1)[0]))


def with_carriers(raw: str, key: str, keyring, use: Carriers) -> str:
	"""``raw`` (an Email Queue message) with the carriers of conversation ``key``; unchanged
	when it carries the token already (the Communication was stamped) or has no text part."""
	token = keyring.token(key)
	message = Parser(policy=policy.SMTP).parsestr(raw)
	subject = str(message.get("Subject") or "")
	parts = {kind: message.get_body(preferencelist=(kind,)) for kind in ("html", "plain")}
	texts = {kind: part.get_content() for kind, part in parts.items() if part is not None}
	if not texts or token in subject or any(token in text for text in texts.values()):
		return raw
	stamped = stamp(key=key, keyring=keyring, subject=subject, text=texts.get("plain", ""),
					html_body=texts.get("html", ""), reply=bool(_REPLY.match(subject)), use=use)
	if use.subject_token or use.subject_tag:
		message.replace_header("Subject", stamped.subject)
	for kind, new in (("html", _footer_inside_body(texts.get("html", ""), stamped.html)),
					  ("plain", stamped.text)):
		part = parts[kind]
		if part is not None and new != texts[kind]:
			part.set_content(new, subtype=kind, charset="utf-8", cte="quoted-printable")
	return message.as_string(policy=policy.SMTP)


def _footer_inside_body(html: str, stamped: str) -> str:
	"""The stamped HTML with its footer before ``</body>`` (stamp() appends it at the end)."""
	footer = stamped[len(html):]
	ends = list(_BODY_END.finditer(html))
	if not footer or not ends:
		return stamped
	at = ends[-1].start()
	return html[:at] + footer + html[at:]


def set_headers(raw: str, headers: dict[str, str]) -> str:
	"""Replace (or add) top-level headers in a raw MIME string, keeping its line ends."""
	end = _HEADER_END.search(raw)
	head, body = (raw[: end.start()], raw[end.start():]) if end else (raw, "")
	eol = "\r\n" if "\r\n" in head else "\n"
	names = {name.lower() for name in headers}
	kept, skipping = [], False
	for line in head.splitlines():
		if line[:1] in (" ", "\t"):
			if not skipping:
				kept.append(line)
			continue
		skipping = line.split(":", 1)[0].strip().lower() in names
		if not skipping:
			kept.append(line)
	kept += [f"{name}: {value}" for name, value in headers.items()]
	return eol.join(kept) + body
