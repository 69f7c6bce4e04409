def test_id_tag_in_subject_threads(world):
    d = world.deliver("subject_tag.eml")
    assert (d.rule, d.conversation) == ("subject_tag", world.a)


def test_altered_id_tag_does_not_thread(world):
    raw = world.store  # noqa: F841  (kept simple: build a tag with a broken MAC)
    token = world.keyring.token("ConvAAAAAAA")
    bad = token[:-2] + ("00" if token[-2:] != "00" else "11")
    d = world.decide(f"From: a@b.example\nTo: support@help.example\nSubject: [ID-{bad}]\n\nx\n".encode())
    assert d.conversation is None
