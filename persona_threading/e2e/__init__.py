"""End-to-end harness: real mail servers on loopback and the mail real clients write.

Pure Python (no frappe import), so plain pytest and the Frappe suite share it:
``servers.mail_servers(workdir)`` runs a throwaway Dovecot (IMAP) and an aiosmtpd capture
(SMTP); ``clients`` builds the customer replies the end-to-end loop appends over IMAP.
"""

from .servers import CapturedMail, MailServerError, MailServers, ensure_dovecot, mail_servers

__all__ = ["CapturedMail", "MailServerError", "MailServers", "ensure_dovecot", "mail_servers"]
