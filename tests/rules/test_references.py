from conftest import attempt


def test_only_references_threads(world):
    d = world.deliver("references_only.eml")
    assert (d.rule, d.conversation) == ("references", world.a)
    assert attempt(d, "in_reply_to").matched is False


def test_most_recently_stored_match_wins(world):
    """References lists B then A, but B's message was stored last: B wins."""
    d = world.deliver("references_two_conversations.eml")
    assert (d.rule, d.conversation) == ("references", world.b)
    assert "newest of 2" in d.evidence


def test_huge_references_are_capped_and_still_thread(world):
    ids = " ".join(f"<junk-{i}@x.example>" for i in range(5000))
    raw = (f"From: a@b.example\nTo: support@help.example\nSubject: x\n"
           f"References: {ids} <agent-a1@help.example>\n\nx\n").encode()
    d = world.decide(raw)
    assert (d.rule, d.conversation) == ("references", world.a)
    assert any("kept the newest" in defect for defect in d.defects)
