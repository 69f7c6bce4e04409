"""Machine-mail classification measured on the shared real-email corpora.

Every bounce corpus message is a bounce or auto_reply, except the exact few listed below
with the reason; the ones only *suspected* (weak evidence: opened as a ticket, never
answered) are listed too. No human-corpus message is a bounce or auto_reply, strong or
suspected, except real DSNs that those corpora hold as parser test cases (listed): a
person's mail is never silently ignored. Bulk is allowed anywhere the headers say so.

Figures (``FIGURES``, in README.md): "strong" counts the silent classifications, what
keeps a mail from opening a ticket; "detected" counts suspected ones too.
"""

import mailbox
import os

import pytest
from conftest import CORPORA

from persona_threading.engine.machine_mail import AUTO_REPLY, BOUNCE, MachineMail, classify, is_silent
from persona_threading.engine.message import parse_message

SKIP_NAMES = {"LICENSE", "LICENSE.txt", "README.md", "EXPECTED.md", "COPYRIGHT"}
BOUNCE_CORPORA = ("sisimai-set-of-emails", "flufl-bounce-data")
HUMAN_CORPORA = ("talon-fixtures", "mail-parser-mails", "cpython-test_email", "email-forward-parser-fixtures")
NOT_A_MESSAGE = {"sisimai-set-of-emails/mailbox/size-0", "sisimai-set-of-emails/mailbox/size-1",
                 "sisimai-set-of-emails/mailbox/size-2"}  # 0-3 byte files: size edge cases, no mail

# Bounce-corpus messages that are not classified bounce/auto_reply: path -> (kind, why).
FORWARDED_BY_A_PERSON = "a person forwarding a bounce ('Fwd: Returned mail'): human mail, rightly"
NOT_MACHINE_MAIL = "sisimai's maildir/not: 'is not a bounce mail', rightly human"
SES_VIA_SNS = ("Amazon SES bounce as SNS JSON from no-reply@sns.amazonaws.com: no header says bounce;"
               " bulk by its no-reply sender (opens a ticket, never answered)")
LIST_MANAGER = "fml list manager's error notice from a -admin address: no machine header at all"
KNOWN = {
    "sisimai-set-of-emails/mailbox/mbox-0#35": (None, FORWARDED_BY_A_PERSON),
    "sisimai-set-of-emails/maildir/bsd/lhost-sendmail-14.eml": (None, FORWARDED_BY_A_PERSON),
    "sisimai-set-of-emails/maildir/err/make-test-36.eml": (None, FORWARDED_BY_A_PERSON),
    "sisimai-set-of-emails/maildir/not/is-not-bounce-01.eml": (None, NOT_MACHINE_MAIL),
    "sisimai-set-of-emails/maildir/not/is-not-bounce-02.eml": (None, NOT_MACHINE_MAIL),
    # (maildir/not/rb-issue-368-bug.eml is a real postmaster bounce kept there for a bug report)
    **{f"sisimai-set-of-emails/maildir/bsd/lhost-amazonses-{n:02d}.eml": ("bulk", SES_VIA_SNS)
       for n in (9, 10, 11, 12, 13)},
    "sisimai-set-of-emails/maildir/bsd/lhost-fml-02.eml": (None, LIST_MANAGER),
    "sisimai-set-of-emails/maildir/bsd/lhost-fml-03.eml": (None, LIST_MANAGER),
    "flufl-bounce-data/groupwise_03.txt": (None, "a hotel's human reply kept in the set as a negative case"),
    "flufl-bounce-data/dumbass_01.txt": ("bulk", "a gateway's bounce redistributed by Mailman with List-Id:"
                                                 " list headers beat subjects"),
    "flufl-bounce-data/microsoft_03.txt": ("bulk", "an Exchange NDR carrying the list's List-Id headers"),
    "flufl-bounce-data/simple_20.txt": (None, "'RE: … : non remis' from a person-like address, text body only"),
    "flufl-bounce-data/simple_22.txt": (None, "'Delivery failure notification' from an antivirus gateway,"
                                              " no machine header; a person could write that subject"),
    "flufl-bounce-data/simple_36.txt": (None, "'Delivery Failure' from a user-like sender, no machine header;"
                                              " a shop customer could write that subject"),
}
# Bounce-corpus messages detected on weak evidence only (suspected: each opens a ticket and
# gets no automatic reply): path -> why no strong signal.
SUBJECT_ONLY = "its subject is the only machine signal"
KDDI = (f"{SUBJECT_ONLY}: KDDI's error notice 'メールエラー通知' from a no-reply address as multipart/mixed,"
        " no report, no MTA header")
JMRP = (f"{SUBJECT_ONLY}: Microsoft JMRP 'complaint about message from …' from staff@hotmail.com as"
        " multipart/mixed, no report type")
SUSPECTED_ONLY = {
    **{f"sisimai-set-of-emails/maildir/{os_}/lhost-kddi-01.eml": KDDI for os_ in ("bsd", "dos", "mac")},
    **{f"sisimai-set-of-emails/maildir/bsd/arf-{n}.eml": JMRP for n in (22, 23, 24)},
    "sisimai-set-of-emails/maildir/bsd/rfc3834-03.eml": f"{SUBJECT_ONLY}: a vacation notice 'Auto reply: Nyaan'"
                                                        " with no Auto-Submitted and a personal Return-Path",
    "flufl-bounce-data/bounce_02.txt": f"{SUBJECT_ONLY}: 'Returned Mail - Error During Delivery' from a"
                                       " gateway's user-like address, no other header",
    "flufl-bounce-data/simple_43.txt": f"{SUBJECT_ONLY}: 'Mail delivery failed: …' from ndr@ as"
                                       " multipart/mixed, no report type, no MTA header",
}
# (precision, recall) of strong and of detected (strong or suspected) auto_reply/bounce, as
# measured; README.md quotes them.
FIGURES = {
    "sisimai-set-of-emails": {"strong": (1.0, 0.984), "detected": (1.0, 0.992)},
    "flufl-bounce-data": {"strong": (1.0, 0.940), "detected": (1.0, 0.957)},
}
# Human-corpus messages that are real DSNs (multipart/report; report-type=delivery-status).
REAL_REPORTS_IN_HUMAN_CORPORA = {
    "mail-parser-mails/mail_malformed_2",
    "cpython-test_email/msg_05.txt", "cpython-test_email/msg_16.txt",
    "cpython-test_email/msg_25.txt", "cpython-test_email/msg_43.txt",
}


def messages(corpus: str):
    """(path relative to the corpora, raw) for every message; mailbox/ files are mboxes."""
    for root, _, names in os.walk(CORPORA / corpus):
        for name in sorted(names):
            path = os.path.join(root, name)
            relative = os.path.relpath(path, CORPORA)
            if name in SKIP_NAMES or relative in NOT_A_MESSAGE:
                continue
            raw = open(path, "rb").read()
            if "/mailbox/" in path and raw.startswith(b"From "):
                for number, message in enumerate(mailbox.mbox(path)):
                    yield f"{relative}#{number}", message.as_bytes()
            else:
                yield relative, raw


def classifications(corpus: str) -> dict[str, MachineMail | None]:
    return {path: classify(parse_message(raw)) for path, raw in messages(corpus)}


def kinds(corpus: str) -> dict[str, str | None]:
    """auto_reply or bounce, strong or suspected (both count as detected), bulk, or None."""
    return {path: machine.kind if machine else None for path, machine in classifications(corpus).items()}


def figures(corpus: str) -> dict[str, tuple[float, float]]:
    """(precision, recall) for "auto_reply or bounce", strong only and incl. suspected.

    Truth: every bounce-corpus message except the known human ones above; in a human corpus
    only its real DSNs."""
    found = classifications(corpus)
    human = {p for p, (_, why) in KNOWN.items() if why in (FORWARDED_BY_A_PERSON, NOT_MACHINE_MAIL)} \
        | {"flufl-bounce-data/groupwise_03.txt"}
    if corpus in HUMAN_CORPORA:
        truth = {p for p in found if p in REAL_REPORTS_IN_HUMAN_CORPORA}
    else:
        truth = {p for p in found if p not in human}
    strong = {p for p, machine in found.items() if is_silent(machine)}
    detected = {p for p, machine in found.items() if machine and machine.kind in (AUTO_REPLY, BOUNCE)}

    def measured(said: set[str]) -> tuple[float, float]:
        hits = len(said & truth)
        return (hits / len(said) if said else 1.0), (hits / len(truth) if truth else 1.0)

    return {"strong": measured(strong), "detected": measured(detected)}


pytestmark = pytest.mark.skipif(not CORPORA.is_dir(),
                                reason=f"corpora not found at {CORPORA} (absent outside the project workspace)")


@pytest.mark.parametrize("corpus", BOUNCE_CORPORA)
def test_every_bounce_corpus_message_is_a_bounce_or_auto_reply_but_the_known_few(corpus):
    found = kinds(corpus)
    assert len(found) > 100
    missed = {p: kind for p, kind in found.items() if kind not in (AUTO_REPLY, BOUNCE)}
    expected = {p: kind for p, (kind, _) in KNOWN.items() if p.startswith(corpus)}
    assert missed == expected


@pytest.mark.parametrize("corpus", BOUNCE_CORPORA)
def test_the_bounce_corpus_messages_only_suspected_are_the_known_few(corpus):
    found = classifications(corpus)
    suspected = {p for p, machine in found.items() if machine and machine.kind in (AUTO_REPLY, BOUNCE)
                 and not is_silent(machine)}
    assert suspected == {p for p in SUSPECTED_ONLY if p.startswith(corpus)}


@pytest.mark.parametrize("corpus", HUMAN_CORPORA)
def test_no_human_corpus_message_is_an_auto_reply_or_bounce(corpus):
    """Neither strong (it would be silently ignored) nor suspected (it would get no acknowledgement)."""
    found = classifications(corpus)
    silent = {p for p, machine in found.items() if is_silent(machine)}
    flagged = {p for p, machine in found.items() if machine and machine.kind in (AUTO_REPLY, BOUNCE)}
    assert silent == flagged == {p for p in REAL_REPORTS_IN_HUMAN_CORPORA if p.startswith(corpus)}


@pytest.mark.parametrize("corpus", BOUNCE_CORPORA + HUMAN_CORPORA)
def test_precision_and_recall(corpus):
    measured = figures(corpus)
    for what, (precision, recall) in measured.items():
        print(f"{corpus}: {what} precision {precision:.3f} recall {recall:.3f}")
    assert measured["strong"][0] == measured["detected"][0] == 1.0  # a person's mail is never silenced
    if corpus in BOUNCE_CORPORA:
        assert {what: (round(p, 3), round(r, 3)) for what, (p, r) in measured.items()} == FIGURES[corpus]
        assert measured["strong"][1] >= 0.93 and measured["detected"][1] >= 0.95
    else:
        assert measured["strong"][1] == measured["detected"][1] == 1.0
