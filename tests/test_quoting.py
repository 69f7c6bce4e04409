"""A public reply never carries an internal note in its quoted history."""

from persona_threading.engine.quoting import drop_private_quotes

NOTE = "Internal: this customer is on the VIP list, refund without asking"


def frappe_quote(text: str) -> str:
    """What Frappe's composer appends when replying to a mail (communication.js)."""
    return (f"<div><br></div><p>On 29-11-2026, agent@help.example wrote:</p>"
            f"<blockquote>{text.replace(chr(10), '<br>')}</blockquote>")


def test_a_quoted_internal_note_is_removed_and_the_answer_kept():
    reply = "<p>Your refund is on its way.</p>" + frappe_quote(NOTE)
    cleaned, removed = drop_private_quotes(reply, [NOTE])
    assert removed == 1
    assert "VIP" not in cleaned
    assert "Your refund is on its way." in cleaned


def test_a_quoted_public_message_stays():
    reply = "<p>Thanks!</p>" + frappe_quote("My printer prints blank pages since Monday")
    assert drop_private_quotes(reply, [NOTE]) == (reply, 0)


def test_the_note_is_recognised_through_markup_and_line_breaks():
    note_html = "<p><b>Internal:</b> this customer is on the <i>VIP</i> list,\nrefund without asking</p>"
    quoted = frappe_quote("**Internal:** this customer is on the _VIP_ list,\nrefund without asking")
    cleaned, removed = drop_private_quotes("<p>Done.</p>" + quoted, ["Internal: this customer is on the VIP list, refund without asking", note_html])
    assert removed == 1 and "VIP" not in cleaned


def test_nested_quotes_go_with_their_outer_quote_and_a_later_public_quote_stays():
    reply = ("<p>Answer</p><blockquote>" + NOTE + "<blockquote>older mail</blockquote></blockquote>"
             "<blockquote>the customer's question about toner</blockquote>")
    cleaned, removed = drop_private_quotes(reply, [NOTE])
    assert removed == 1
    assert "older mail" not in cleaned and "question about toner" in cleaned


def test_an_unclosed_quote_of_a_note_is_still_removed():
    cleaned, removed = drop_private_quotes("<p>Hi</p><blockquote>" + NOTE, [NOTE])
    assert removed == 1 and cleaned == "<p>Hi</p>"


def test_very_short_notes_do_not_remove_innocent_quotes():
    reply = "<p>Sure</p>" + frappe_quote("ok")
    assert drop_private_quotes(reply, ["ok"]) == (reply, 0)


def test_linear_on_a_megabyte_of_nested_quotes():
    reply = "<blockquote>" * 50_000 + "x" + "</blockquote>" * 50_000
    cleaned, removed = drop_private_quotes(reply, [NOTE])
    assert removed == 0 and cleaned == reply
