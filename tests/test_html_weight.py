"""HTML that would make Frappe's cleaners do quadratic work is recognised in one pass."""

from __future__ import annotations

from persona_threading.engine.html_weight import MAX_UNCLOSED_FORMATTING, too_many_unclosed, unclosed_formatting


def test_paragraphs_that_each_leave_a_bold_open_are_counted():
    assert unclosed_formatting("<p><b>Diagnostic information</b\"Tahoma\">" * 400) == 400  # not an end tag of <b>
    assert too_many_unclosed("<li><b>x" * (MAX_UNCLOSED_FORMATTING + 1))
    assert too_many_unclosed("<div><FONT color=red>x</div>" * 100)


def test_what_mail_clients_write_is_not():
    outlook = ("<p class=MsoNormal><b><span style='color:#1F497D'>Hello</span></b><o:p></o:p></p>"
               "<p><font face=Arial>Regards</font><br><i>Ann</i></p>") * 500
    assert unclosed_formatting(outlook) == 0
    assert not too_many_unclosed("<p><b>one <i>two</b> three</i></p>" * 1000)  # misnested, but closed
    assert not too_many_unclosed('<p><a href="https://x.example">link' * 500)  # an unclosed link piles nothing up
    assert not too_many_unclosed("</b></b></b>" + "<b>x</b>" * 10)  # a stray end tag closes nothing
