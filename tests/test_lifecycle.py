import pytest

from persona_threading.engine.gratitude import without_quoted_history
from persona_threading.engine.lifecycle import (CLOSED_REOPEN, CLOSED_REOPEN_WITHIN, RESUME_NOTE,
                                                LifecyclePolicy, StatusMap, is_gratitude,
                                                on_inbound_reply)


def test_reply_while_awaiting_input_resumes():
    t = on_inbound_reply("Replied", "Here are the logs you asked for.", False, 1)
    assert (t.action, t.status, t.event, t.note) == ("resume", "Open", "status_change_auto", RESUME_NOTE)


def test_auto_replies_never_resume_or_reopen():
    for status in ("Replied", "Resolved", "Closed"):
        assert on_inbound_reply(status, "I am out of office", True, 1).action == "none"


def test_thank_you_within_grace_does_not_reopen_a_resolved_ticket():
    assert on_inbound_reply("Resolved", "Thanks a lot, works now!\n\n> old text", False, 2).action == "none"
    assert on_inbound_reply("Resolved", "Thanks! But it broke again?", False, 2).action == "reopen"
    assert on_inbound_reply("Resolved", "Thanks a lot", False, 30).action == "reopen"


def test_closed_ticket_policies():
    assert on_inbound_reply("Closed", "It broke again", False, 3).action == "new_linked"
    assert on_inbound_reply("Closed", "It broke again", False, 3,
                            LifecyclePolicy(closed=CLOSED_REOPEN)).action == "reopen"
    within = LifecyclePolicy(closed=CLOSED_REOPEN_WITHIN, reopen_within_days=5)
    assert on_inbound_reply("Closed", "It broke again", False, 3, within).action == "reopen"
    assert on_inbound_reply("Closed", "It broke again", False, 9, within).action == "new_linked"


def test_per_project_status_names():
    custom = LifecyclePolicy(StatusMap(awaiting_input=("Waiting on customer",), in_progress="Working"))
    t = on_inbound_reply("Waiting on customer", "done", False, 0, custom)
    assert (t.action, t.status) == ("resume", "Working")
    assert on_inbound_reply("Open", "more info", False, 0).action == "none"


def test_gratitude_filter():
    assert is_gratitude("Merci beaucoup !")
    assert not is_gratitude("Thanks. Can you also reset my password")
    assert not is_gratitude("Thanks " * 40)
    assert not is_gratitude("")


QUOTED = "\n\nOn Tue, 17 Nov 2026 at 10:00, Support <support@help.example> wrote:\n> Please try again.\n"
GRATITUDE = [
    "Thanks, problem solved",
    "Thanks!",
    "Thank you so much!",
    "Thanks a lot, works now!",
    "Many thanks for your help.",
    "Thx",
    "Perfect, thank you!",
    "That fixed it, thanks!",
    "Works now. Thanks!\n\nBest regards,\nAlice Smith",
    "Hi team,\n\nthanks for the quick response. All good now.\n\nCheers,\nBob",
    "Great, thanks John",
    "Thank you, you can close the ticket.",
    "Merci beaucoup !",
    "Vielen Dank, es funktioniert jetzt.\n\nViele Grüße\nJörg",
    "Muchas gracias, ya funciona.",
    "Grazie mille, risolto!",
    "Bedankt, het werkt nu.",
    "Obrigado pela ajuda!",
    "Tack så mycket!",
    "Dziękuję, działa.",
    "Спасибо, всё работает.",
    "Thanks 👍",
    "Thanks!" + QUOTED,
    "Thank you, all sorted.\n\n-----Original Message-----\nFrom: Support <support@help.example>\n"
    "Subject: RE: printer\n\nDid the restart help? Still broken?",
    "Thanks, it works!\n\nAm 17.11.2026 um 10:00 schrieb Support <support@help.example>:\n> Geht es?",
    "Merci, ça marche.\n\nLe mar. 17 nov. 2026 à 10:00, Support <support@help.example> a écrit :\n> ok?",
    "Thanks!\n\nFrom: Support <support@help.example>\nSent: Tuesday\nSubject: still failing?",
    "Thanks, problem solved\n\nSent from my iPhone",
]
NOT_GRATITUDE = [
    "Thanks, but it still fails",
    "Thanks! But it broke again?",
    "Thanks. Can you also reset my password",
    "Thanks for the fix. Unfortunately the printer on floor 4 is now broken too.",
    "Thank you, however the error is back",
    "Thanks, still broken",
    "Thanks, it doesn't work",
    "Thanks, it works but the export is empty",
    "Any update? Thanks",
    "Thanks in advance for looking into the VPN outage",
    "Please reopen, thanks",
    "Danke, aber es geht immer noch nicht.",
    "Merci, mais ça ne marche toujours pas.",
    "Gracias, pero sigue sin funcionar.",
    "It still fails",
    "Attached are the logs you asked for.",
    "",
    "Thanks " * 40,
    "> Thanks a lot\nIt crashed again",
]


@pytest.mark.parametrize("text", GRATITUDE)
def test_short_thanks_and_closings_count_as_gratitude(text):
    assert is_gratitude(text)


@pytest.mark.parametrize("text", NOT_GRATITUDE)
def test_anything_to_act_on_is_not_gratitude(text):
    assert not is_gratitude(text)


def test_quoted_history_is_not_the_senders_own_text():
    assert without_quoted_history("Thanks!" + QUOTED).strip() == "Thanks!"
    assert not is_gratitude("It crashed again" + QUOTED.replace("Please try again.", "Thanks!"))


def test_the_days_in_status_are_asked_only_where_a_window_needs_them():
    """Reading them costs the site a query: an open or waiting ticket's reply never asks."""
    asked = []

    def days():
        asked.append(True)
        return 30.0

    assert on_inbound_reply("Open", "More logs.", False, days).action == "none"
    assert on_inbound_reply("Replied", "More logs.", False, days).action == "resume"
    assert asked == []
    assert on_inbound_reply("Resolved", "Thanks a lot!", False, days).action == "reopen"  # 30 days: past the grace
    assert asked == [True]
