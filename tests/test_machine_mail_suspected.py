"""Issue 18: weak machine signals never hide mail.

A customer's first mail titled "On vacation - lost my passport, please help" or "Auto:
windshield claim 4711", or an ordinary Outlook mail with ``X-Auto-Response-Suppress: All``,
only looks automatic. It opens its conversation like any mail; it is only marked
*suspected* machine mail and never answered automatically. Silence (no conversation, no
status change) takes strong evidence (test_machine_mail.py).
"""

import pytest
from test_limits import NOW, app, new_mail

from persona_threading.engine.machine_mail import AUTO_REPLY, BOUNCE, classify, is_silent
from persona_threading.engine.message import parse_message
from persona_threading.engine.participants.standing import is_silent_machine_mail

# Subjects customers really write that a subject guess reads as an autoresponder's or a
# bounce: (language, subject, the kind suspected).
CUSTOMER_SUBJECTS = [
    ("en", "On vacation - lost my passport, please help", AUTO_REPLY),
    ("en", "Auto: windshield claim 4711", AUTO_REPLY),
    ("en", "Out of office - need invoice 1042 before I leave", AUTO_REPLY),
    ("en", "OOO: please reset my password before Monday", AUTO_REPLY),
    ("en", "Automatic reply (Outlook) still sends last year's text", AUTO_REPLY),
    ("en", "Returned mail: parcel 88123 came back to us", BOUNCE),
    ("en", "Non-delivery: order 5521 never arrived", BOUNCE),
    ("de", "Abwesenheitsnotiz: lässt sich seit dem Update nicht mehr abschalten", AUTO_REPLY),
    ("de", "Automatische Antwort - wird an jeden Kunden doppelt verschickt", AUTO_REPLY),
    ("de", "Unzustellbar: Paket 4711 kam an Sie zurück", BOUNCE),
    ("fr", "Absente du bureau : qui traite ma commande 5521 ?", AUTO_REPLY),
    ("fr", "Réponse automatique : impossible de la désactiver", AUTO_REPLY),
    ("es", "Fuera de la oficina: necesito la factura antes del viernes", AUTO_REPLY),
    ("es", "Respuesta automática (Gmail) no se desactiva", AUTO_REPLY),
    ("nl", "Afwezig - graag de factuur naar mijn collega sturen", AUTO_REPLY),
    ("nl", "Automatisch antwoord: werkt niet meer in Outlook", AUTO_REPLY),
    ("it", "Fuori ufficio: chi segue il mio ordine 3321?", AUTO_REPLY),
    ("it", "Risposta automatica - non funziona più dopo l'aggiornamento", AUTO_REPLY),
    ("pt", "Fora do escritório: preciso da fatura com urgência", AUTO_REPLY),
    ("pt", "Resposta automática: não consigo desativar", AUTO_REPLY),
    ("pl", "Odpowiedź automatyczna: nie działa w Thunderbirdzie", AUTO_REPLY),
    ("ru", "Автоответ: не отключается", AUTO_REPLY),
    ("ja", "自動返信: 設定方法を教えてください", AUTO_REPLY),
    ("zh", "自动回复：无法关闭", AUTO_REPLY),
]


def assert_opened_and_unanswered(raw: bytes, kind: str):
    decision, verdict = app().handle(raw, NOW)
    assert (decision.action, decision.rule, decision.project) == ("new", "single_scope", "ACME")
    assert decision.conversation
    assert decision.machine["kind"] == kind and decision.machine["suspected"] is True, decision.machine
    assert not is_silent(decision.machine) and not is_silent_machine_mail(decision)
    assert not verdict.send and verdict.reason.startswith(f"machine mail is never answered (suspected {kind}:")
    return decision


@pytest.mark.parametrize("language, subject, kind", CUSTOMER_SUBJECTS,
                         ids=[f"{lang}-{n}" for n, (lang, _, _) in enumerate(CUSTOMER_SUBJECTS)])
def test_a_customer_subject_that_looks_automatic_opens_a_conversation(language, subject, kind):
    found = classify(parse_message(new_mail(subject=subject)))
    assert found is not None and (found.kind, found.suspected) == (kind, True), found  # the guess still fires
    assert_opened_and_unanswered(new_mail(subject=subject), kind)


def test_the_table_covers_enough_subjects_and_languages():
    assert len(CUSTOMER_SUBJECTS) >= 15 and len({lang for lang, _, _ in CUSTOMER_SUBJECTS}) >= 8


def test_an_ordinary_mail_with_x_auto_response_suppress_all_opens_a_conversation():
    raw = new_mail(subject="Printer on floor 2 is broken", extra="X-Auto-Response-Suppress: All\n")
    decision = assert_opened_and_unanswered(raw, AUTO_REPLY)
    assert decision.machine["signal"].startswith("X-Auto-Response-Suppress: All")


def test_explain_says_suspected():
    decision, _ = app().handle(new_mail(subject="On vacation - lost my passport, please help"), NOW)
    assert ("[machine] suspected auto_reply: subject 'On vacation - lost my passport, please help'"
            " looks like an autoresponder's") in decision.explain()


def test_the_same_subject_with_a_strong_header_is_silent():
    """A real vacation notice says so in a header: it opens nothing and is never answered."""
    raw = new_mail(subject="On vacation - back on Monday", extra="Auto-Submitted: auto-replied\n")
    decision, verdict = app().handle(raw, NOW)
    assert (decision.action, decision.rule, decision.conversation) == ("ignored", "auto_reply", None)
    assert decision.machine["suspected"] is False and is_silent(decision.machine) and not verdict.send
    assert "[machine] auto_reply: Auto-Submitted: auto-replied" in decision.explain()


def test_a_suspected_reply_threads_and_counts_as_a_persons(world):
    """Threading onto a conversation, it is a person's reply: participants and warnings apply."""
    reply = (b"From: Dan <dan@partner.example>\nTo: support@help.example\n"
             b"Subject: Automatic reply: Re: Printer on floor 3 is broken\nMessage-ID: <dan-1@partner.example>\n"
             b"In-Reply-To: <agent-a1@help.example>\n\nI'll take this over from Alice.\n")
    d = world.deliver(reply)
    assert (d.action, d.conversation) == ("threaded", world.a)
    assert d.machine["suspected"] is True and not is_silent_machine_mail(d)
    silent = world.deliver(reply.replace(b"dan-1@", b"dan-2@").replace(b"\n\n", b"\nAuto-Submitted: auto-replied\n\n"))
    assert (silent.action, silent.conversation) == ("threaded", world.a) and is_silent_machine_mail(silent)
    assert (d.sender_role, silent.sender_role) == ("third_party", "third_party")
    assert d.warning == "reply from a third party: Dan <dan@partner.example>" and silent.warning is None
