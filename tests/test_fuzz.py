"""Mutated real mails: no exception, exactly one outcome each, none over a second.

A bounded run of the seeded mutator that ``make fuzz`` runs 100,000 times. The time limit
is a generous guard against quadratic paths coming back, not a benchmark.
"""

import pytest
from conftest import CORPORA

from persona_threading.fuzz import corpus_mails, fuzz

MAILS = corpus_mails(CORPORA)


@pytest.mark.skipif(not MAILS, reason=f"corpora not found at {CORPORA} (absent outside the project workspace)")
def test_mutated_real_mails_never_raise_never_drop():
    report = fuzz(2000, seed=9, mails=MAILS, max_bytes=128 * 1024, slow_after=1.0, give_up_after=30.0)
    assert report.mails == 2000
    assert report.stored + report.duplicates + report.skipped == report.mails, report.summary()
    problems = report.exceptions + report.lost + report.slow
    assert not problems, report.summary() + "\n" + "\n".join(problems[:20])
