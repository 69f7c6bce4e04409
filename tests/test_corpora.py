"""Every message of the shared real-email corpora parses and routes without an exception."""

import os

import pytest
from conftest import CORPORA

from persona_threading.engine.message import parse_message

SKIP_NAMES = {"LICENSE", "README.md", "EXPECTED.md", "COPYRIGHT"}


def corpus_files():
    if not CORPORA.is_dir():
        return []
    found = []
    for root, _, names in os.walk(CORPORA):
        found += [os.path.join(root, n) for n in sorted(names) if n not in SKIP_NAMES]
    return sorted(found)


FILES = corpus_files()


@pytest.mark.skipif(not FILES, reason=f"corpora not found at {CORPORA} (absent outside the project workspace)")
def test_every_corpus_message_parses_and_routes(world):
    failures = []
    for path in FILES:
        raw = open(path, "rb").read()
        try:
            message = parse_message(raw)
            message.text
            world.deliver(raw)
        except Exception as exc:  # collect all, report together
            failures.append(f"{path}: {exc!r}")
    assert not failures, "\n".join(failures[:20])
    assert len(FILES) > 1000


@pytest.mark.skipif(not FILES, reason="corpora not found")
def test_real_outlook_thread_index_values_decode():
    from persona_threading.engine.thread_index import decode_thread_index

    root = decode_thread_index("AQHT8MGsDJq0pNzN8kqm6l56g9iVCg==")
    reply = decode_thread_index("AQHT8MGsDJq0pNzN8kqm6l56g9iVCqQ5ode4")
    assert root.is_root and not reply.is_root and root.root == reply.root
    assert decode_thread_index("AQHT8fMZY6Buh&#43;3DHEig40zYI2TOvQ=3D=3D").root is None
