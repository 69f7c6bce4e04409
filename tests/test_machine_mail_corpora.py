"""Machine-mail classification measured on the shared real-email corpora.

Every bounce corpus message is a bounce or auto_reply, except the exact few listed below
with the reason; no human-corpus message is, except real DSNs that those corpora hold as
parser test cases (listed). Bulk is allowed anywhere the headers say so.
"""

import mailbox
import os

import pytest
from conftest import CORPORA

from persona_threading.engine.machine_mail import AUTO_REPLY, BOUNCE, classify
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


def kinds(corpus: str) -> dict[str, str | None]:
    found = {}
    for path, raw in messages(corpus):
        machine = classify(parse_message(raw))
        found[path] = machine.kind if machine else None
    return found


def precision_recall(corpus: str) -> tuple[float, float]:
    """For "auto_reply or bounce": truth is every message except the known human ones above."""
    found = kinds(corpus)
    human = {p for p, (_, why) in KNOWN.items() if why in (FORWARDED_BY_A_PERSON, NOT_MACHINE_MAIL)} \
        | {"flufl-bounce-data/groupwise_03.txt"}
    if corpus in HUMAN_CORPORA:
        truth = {p for p in found if p in REAL_REPORTS_IN_HUMAN_CORPORA}
    else:
        truth = {p for p in found if p not in human}
    said = {p for p, kind in found.items() if kind in (AUTO_REPLY, BOUNCE)}
    hits = len(said & truth)
    return (hits / len(said) if said else 1.0), (hits / len(truth) if truth else 1.0)


pytestmark = pytest.mark.skipif(not CORPORA.is_dir(),
                                reason=f"corpora not found at {CORPORA} (absent outside the project workspace)")


@pytest.mark.parametrize("corpus", BOUNCE_CORPORA)
def test_every_bounce_corpus_message_is_a_bounce_or_auto_reply_but_the_known_few(corpus):
    found = kinds(corpus)
    assert len(found) > 100
    missed = {p: kind for p, kind in found.items() if kind not in (AUTO_REPLY, BOUNCE)}
    expected = {p: kind for p, (kind, _) in KNOWN.items() if p.startswith(corpus)}
    assert missed == expected


@pytest.mark.parametrize("corpus", HUMAN_CORPORA)
def test_no_human_corpus_message_is_an_auto_reply_or_bounce(corpus):
    found = kinds(corpus)
    flagged = {p for p, kind in found.items() if kind in (AUTO_REPLY, BOUNCE)}
    assert flagged == {p for p in REAL_REPORTS_IN_HUMAN_CORPORA if p.startswith(corpus)}


@pytest.mark.parametrize("corpus", BOUNCE_CORPORA + HUMAN_CORPORA)
def test_precision_and_recall(corpus):
    precision, recall = precision_recall(corpus)
    print(f"{corpus}: precision {precision:.3f} recall {recall:.3f}")
    assert precision == 1.0
    assert recall >= (0.95 if corpus in BOUNCE_CORPORA else 1.0)
