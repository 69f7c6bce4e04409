"""Text kept for people to read later is stored as a phrase and said in the reader's language
(engine.phrases): the English stays what the CLI and explain print, and every phrase the app
can store has its German row in translations/de.csv."""

import ast
import csv
import json
import pathlib
import string

from persona_threading.engine.phrases import Phrase, said

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "persona_threading"
GERMAN = {"CC": "CC", "{email} added as CC {by}": "{email} als CC hinzugefügt {by}",
          "by {who} ({standing}) on {mid}": "von {who} ({standing}) in {mid}", "requester": "Anfragender"}


def test_a_phrase_is_its_english_text_and_keeps_how_it_was_made():
    by = Phrase("by {who} ({standing}) on {mid}", who="a@x.example", standing=Phrase("requester"), mid="<m@x>")
    phrase = Phrase("{email} added as CC {by}", email="b@x.example", by=by)
    assert phrase == "b@x.example added as CC by a@x.example (requester) on <m@x>"
    assert json.loads(json.dumps({"reason": phrase})) == {"reason": str(phrase)}  # the decision's JSON: English
    data = json.loads(json.dumps(phrase.as_data()))
    assert said(data) == phrase
    assert said(data, lambda text: GERMAN.get(text, text)) == \
        "b@x.example als CC hinzugefügt von a@x.example (Anfragender) in <m@x>"


def test_a_translation_that_does_not_fit_falls_back_to_english_and_text_from_before_stays():
    data = Phrase("reply from a third party: {who}", who="Jonas <j@x.example>").as_data()
    assert said(data, lambda text: "Antwort eines Dritten: {wer}") == "reply from a third party: Jonas <j@x.example>"
    assert said("reply from a third party: Jonas &lt;j@x.example&gt;") == \
        "reply from a third party: Jonas &lt;j@x.example&gt;"
    assert said(Phrase("").as_data(), lambda text: text) == ""


def _templates() -> set[str]:
    """Every literal template of a ``Phrase(...)`` in the package, also one held by the name
    a Phrase is made from (``template = "..." if ... else "..."``)."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        if "tests" in path.parts:
            continue
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, (ast.FunctionDef, ast.Module)):
                continue
            named = {}
            for node in ast.walk(function):
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                    named.setdefault(node.targets[0].id, []).append(node.value)
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Phrase" and node.args:
                    first = node.args[0]
                    values = named.get(first.id, []) if isinstance(first, ast.Name) else [first]
                    found |= {c.value for value in values for c in ast.walk(value)
                              if isinstance(c, ast.Constant) and isinstance(c.value, str) and "{" in c.value}
                    found |= {first.value} if isinstance(first, ast.Constant) else set()
    return found - {""}


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_phrase_the_app_stores_has_a_german_row_with_the_same_parameters():
    rows = {row[0]: row[1] for row in csv.reader((PACKAGE / "translations" / "de.csv").open(encoding="utf-8")) if row}
    templates = _templates()
    assert len(templates) > 60  # the scan sees the engine's and the adapter's phrases
    missing = sorted(t for t in templates if t not in rows)
    assert not missing
    assert not [t for t in templates if _fields(rows[t]) != _fields(t)]
