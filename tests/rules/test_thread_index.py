from conftest import attempt, fixture_bytes

from persona_threading.engine.thread_index import decode_thread_index


def test_outlook_reply_threads_by_its_root(world):
    root = world.deliver("outlook_root.eml")
    assert root.action == "new"
    d = world.deliver("outlook_reply.eml")
    assert (d.action, d.rule, d.conversation) == ("threaded", "thread_index", root.conversation)


def test_only_roots_are_stored(world):
    """A reply's 27-byte index is not a root: storing it must not create a new thread name."""
    first = world.deliver("outlook_reply.eml")  # reply arrives before we ever saw the root
    assert first.rule != "thread_index"
    index = decode_thread_index("AQHT8MGsDJq0pNzN8kqm6l56g9iVCqQ5ode4")
    assert not index.is_root
    assert world.store.conversation_by_thread_root(index.root) is None


def test_invalid_base64_is_evidence_not_an_error(world):
    d = world.deliver("outlook_invalid.eml")
    evidence = attempt(d, "thread_index")
    assert evidence.matched is False and "not valid base64" in evidence.evidence
    assert d.action == "queued"


def test_a_queued_root_names_its_thread_once_a_reviewer_opens_it(world):
    raw = fixture_bytes("outlook_root.eml").replace(b"To: acme@", b"To: support@")
    queued = world.deliver(raw)
    assert queued.action == "queued"
    conversation = world.store.new_from_queued("outlook-root@corp.example", "ACME")
    d = world.deliver("outlook_reply.eml")
    assert (d.rule, d.conversation) == ("thread_index", conversation)


def test_a_new_outlook_mail_reusing_a_stored_root_does_not_thread(world):
    """A 22-byte Thread-Index starts a thread: stored to name it, never looked up."""
    first = world.deliver("outlook_root.eml")
    again = fixture_bytes("outlook_root.eml").replace(b"outlook-root@", b"outlook-second-root@")
    d = world.deliver(again)
    assert d.action == "new" and d.conversation != first.conversation
    tried = attempt(d, "thread_index")
    assert tried.matched is False and "starts a new Outlook thread" in tried.evidence
