"""Read messages from the places a mailbox export lives: .eml, mbox, Maildir, stdin.

A file is an mbox or a single message by its content (an mbox starts with a ``From ``
line), not by its extension. Messages come out in the order given (Maildir and plain
folders sorted by file name, which Maildir makes chronological).
"""

from __future__ import annotations

import mailbox
import os
import sys
from dataclasses import dataclass
from typing import Iterator


class SourceError(Exception):
    """A source that cannot be read; the message names it."""


@dataclass(frozen=True)
class RawMail:
    origin: str  # where it came from, for messages to the user
    raw: bytes
    unreadable: str | None = None  # why a file inside a folder could not be read (raw is empty)


def read_sources(sources: list[str]) -> Iterator[RawMail]:
    for source in sources:
        yield from read_source(source)


def read_source(source: str) -> Iterator[RawMail]:
    if source == "-":
        yield RawMail("<stdin>", sys.stdin.buffer.read())
        return
    if os.path.isdir(source):
        yield from _read_directory(source)
        return
    try:
        with open(source, "rb") as handle:
            head = handle.read(5)
    except OSError as exc:
        raise SourceError(f"cannot read {source}: {exc.strerror}") from exc
    if head == b"From ":
        yield from _read_mbox(source)
    else:
        with open(source, "rb") as handle:
            yield RawMail(source, handle.read())


def count_messages(sources: list[str]) -> int | None:
    """How many messages the sources hold, when cheap to know (for a progress bar)."""
    total = 0
    for source in sources:
        if source == "-":
            total += 1
        elif os.path.isdir(source):
            total += len(_directory_files(source))
        else:
            return None
    return total


def _read_mbox(path: str) -> Iterator[RawMail]:
    box = mailbox.mbox(path, create=False)
    try:
        for index, key in enumerate(box.iterkeys()):
            yield RawMail(f"{path}#{index + 1}", box.get_bytes(key))
    finally:
        box.close()


def _directory_files(path: str) -> list[str]:
    parts = [os.path.join(path, d) for d in ("cur", "new")]
    if any(os.path.isdir(p) for p in parts):  # a Maildir
        folders = [p for p in parts if os.path.isdir(p)]
    else:
        folders = [path]
    files = []
    for folder in folders:
        files += [os.path.join(folder, name) for name in os.listdir(folder)
                  if not name.startswith(".") and os.path.isfile(os.path.join(folder, name))]
    return sorted(files, key=os.path.basename)


def _read_directory(path: str) -> Iterator[RawMail]:
    """Every file; one that cannot be read is reported in its place and the rest still come."""
    for file_path in _directory_files(path):
        try:
            yield from read_source(file_path)
        except SourceError as exc:
            yield RawMail(file_path, b"", unreadable=str(exc))
