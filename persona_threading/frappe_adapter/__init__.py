"""The thin Frappe side: DocTypes are data, the engine decides, these modules connect them.

lookup.py answers the engine's questions (every query indexed); store.py is the ONLY place
that persists; inbound.py / email_account.py wrap Frappe's receive path via super();
outbound.py stamps mail sent from a conversation's document; api.py serves "Why here?".
"""
