"""`persona-threading route` on a mailing-list archive threads like a header threader would.

List mail carries List-Id / Precedence: list, so it is bulk: routed like any mail, never
ignored. A reply threads onto its thread by In-Reply-To or References.
"""

from test_cli import decisions, run

POSTS = [  # (id, parent ids, sender, subject, extra headers)
    ("root-a", [], "ann", "Build fails on 3.13", ""),
    ("a1", ["root-a"], "bob", "Re: Build fails on 3.13", ""),
    ("a2", ["root-a", "a1"], "ann", "Re: Build fails on 3.13", ""),
    ("root-b", [], "cid", "Release notes draft", "Precedence: list\n"),
    ("b1", ["root-b"], "dan", "Re: Release notes draft", "Precedence: list\n"),
    ("a3", ["root-a", "a1", "a2"], "eve", "Re: Build fails on 3.13 (solved)", ""),
    ("b2", ["root-b", "b1"], "ann", "Re: Release notes draft", "Precedence: bulk\n"),
    ("root-c", [], "bob", "Out of office: who reviews PR 12?", ""),  # a person's post, list headers
    ("c1", ["root-c"], "cid", "Re: Out of office: who reviews PR 12?", ""),
    ("b3", ["root-b", "b1", "b2"], "fay", "Re: Release notes draft", "X-Autoreply: yes\n"),  # a member's vacation
]


def archive() -> bytes:
    mails = []
    for number, (mid, parents, sender, subject, extra) in enumerate(POSTS):
        threading = ""
        if parents:  # a few clients send only References
            threading = (f"In-Reply-To: <{parents[-1]}@lists.example>\n" if number % 3 else "") + \
                        "References: " + " ".join(f"<{p}@lists.example>" for p in parents) + "\n"
        mails.append(
            f"From {sender}@dev.example Mon Mar  2 09:{number:02d}:00 2026\n"
            f"From: {sender}@dev.example\nTo: users@lists.example\nSubject: [users] {subject}\n"
            f"Message-ID: <{mid}@lists.example>\nDate: Mon, 02 Mar 2026 09:{number:02d}:00 +0000\n"
            f"List-Id: Users <users.lists.example>\nList-Unsubscribe: <mailto:users-leave@lists.example>\n"
            f"{extra}{threading}\n{subject} text.\n")
    return "\n".join(mails).encode()


def header_threads() -> dict[str, str]:
    """What a header-only threader finds: each message's thread root."""
    return {mid: (parents[0] if parents else mid) for mid, parents, *_ in POSTS}


def test_a_list_archive_threads_like_a_header_threader(tmp_path):
    (tmp_path / "users.mbox").write_bytes(archive())
    found = decisions(run(tmp_path, "route", "--json", str(tmp_path / "users.mbox"), config=False))
    assert len(found) == len(POSTS)
    assert [d["action"] for d in found if d["action"] == "ignored"] == []
    conversation = {d["message_id"].split("@")[0]: d["conversation"] for d in found}
    roots = header_threads()
    for mid, root in roots.items():
        assert conversation[mid] == conversation[root], f"{mid} is not on {root}'s conversation"
    assert len(set(conversation.values())) == len(set(roots.values())) == 3
    by_id = {d["message_id"].split("@")[0]: d for d in found}
    assert by_id["root-c"]["action"] == "new" and by_id["root-c"]["machine"]["kind"] == "bulk"
    assert by_id["b3"]["machine"]["kind"] == "auto_reply" and by_id["b3"]["action"] == "threaded"
    assert not any(d["auto_reply"]["send"] for d in found), "list mail is never answered automatically"
