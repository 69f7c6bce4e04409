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
