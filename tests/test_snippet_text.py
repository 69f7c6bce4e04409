"""Save as snippet keeps the agent's own words: not the quoted mail, the signature or a
``!filter`` line the composer or the server added (engine.snippet_text)."""

from persona_threading.engine.snippet_text import own_text

SIGNATURE = "<p>-- The support team</p>"
#: A reply as the desk stores it (composer content in Quill's read-mode wrapper).
SENT = ('<div class="ql-editor read-mode"><p>Please restart the router. <br></p><p>Then wait a minute.</p>'
        '<p>-- The support team</p><p><br></p><p>---</p><p><br></p><p> &nbsp;\tOn 7th December 2026, 10:02 AM, '
        '<a href="mailto:ann@example.com">ann@example.com</a> wrote:</p><p> &nbsp;\t</p>'
        '<blockquote>The router blinks red.<br></blockquote><blockquote><br></blockquote></div>')


def test_a_sent_reply_keeps_the_agents_text_without_signature_quote_or_wrapper():
    assert own_text(SENT, [SIGNATURE]) == "<p>Please restart the router. <br></p><p>Then wait a minute.</p>"


def test_a_filter_line_goes_and_the_rest_of_the_text_stays():
    typed = "<p>Hello,</p><p>!refu</p><p>your refund is on its way.</p><p><br></p>"
    assert own_text(typed) == "<p>Hello,</p><p>your refund is on its way.</p>"


def test_the_signature_matches_across_markup_and_lines_and_only_at_the_end():
    multi_line = "<p>--</p><p>Jane Doe<br>Support</p>"
    assert own_text(f"<p>Thanks.</p>{multi_line}<p><br></p>", ["--\nJane Doe\nSupport"]) == "<p>Thanks.</p>"
    kept = "<p>-- The support team</p><p>writes to you today.</p>"
    assert own_text(kept, [SIGNATURE]) == kept  # not at the end: the agent's own text


def test_the_signature_the_server_appends_after_the_wrapper_goes_too():
    stored = ('<div class="ql-editor read-mode"><p>Open the tray.</p></div></p><br>'
              '<p class="signature"><p>Best, the helpdesk</p>')
    assert own_text(stored, [SIGNATURE, "<p>Best, the helpdesk</p>"]) == "<p>Open the tray.</p>"


def test_plain_text_and_images_stay_and_nothing_is_invented():
    assert own_text("Open the tray and pull gently.") == "Open the tray and pull gently."
    assert own_text('<p>See:</p><p><img src="/files/tray.png"></p>') == '<p>See:</p><p><img src="/files/tray.png"></p>'
    assert own_text("") == ""
    assert own_text("<p>---</p><blockquote>only a quote</blockquote>") == ""
