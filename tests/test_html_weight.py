"""HTML that would make Frappe's cleaners do quadratic work is recognised in one pass."""

from __future__ import annotations

from persona_threading.engine.html_weight import MAX_REBUILT, rebuilt_elements, too_heavy_to_clean


def test_paragraphs_that_each_leave_a_bold_open_are_heavy():
    body = '<p><b>Diagnostic information</b"Tahoma">' * 400  # "</b"Tahoma">" is no end tag of <b>
    assert rebuilt_elements(body) == sum(range(400))
    assert too_heavy_to_clean(body)
    assert too_heavy_to_clean("<li><b>x" * 200)
    assert too_heavy_to_clean("<div><FONT color=red>x</div>" * 200)


def test_a_few_left_open_before_thousands_of_blocks_are_heavy_too():
    opened = "".join(f"<b id=b{i}>" for i in range(64))
    assert rebuilt_elements("<p>" + opened + "<p>x" * 2000) == 64 * 2000
    assert too_heavy_to_clean("<p>" + opened + "<p>x" * 2000)


def test_what_mail_clients_write_is_not():
    outlook = ("<p class=MsoNormal><b><span style='color:#1F497D'>Hello</span></b><o:p></o:p></p>"
               "<p><font face=Arial>Regards</font><br><i>Ann</i></p>") * 500
    assert rebuilt_elements(outlook) == 0
    assert not too_heavy_to_clean("<p><b>one <i>two</b> three</i></p>" * 1000)  # misnested, but closed
    assert not too_heavy_to_clean('<p><a href="https://x.example">link' * 500)  # an unclosed link piles nothing up
    assert not too_heavy_to_clean("</b></b></b>" + "<p><b>x</b>" * 10)  # a stray end tag closes nothing
    assert not too_heavy_to_clean("<font face=Arial>" + "<div>line</div>" * (MAX_REBUILT - 1))  # an old mailer's
