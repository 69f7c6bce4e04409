"""English text that remembers how it was made, so a reader can get it in their language.

The engine speaks English: the CLI, ``explain`` and the tests read it. A ``Phrase`` is that
English string and also its template and named parameters. An adapter that keeps what
happened for people to read later (an audit note, a warning, why a mail waits) stores the
template and parameters (``as_data``) and says them when someone reads them (``said``, with
Frappe's ``_()`` as ``translate``): never the finished English sentence. The template is
the message id, as Frappe's translation files key on the English source.
"""

from __future__ import annotations

from collections.abc import Callable


class Phrase(str):
    """``Phrase("{email} joined as {role}", email=..., role=Phrase("CC"))``: the English text
    (it is a ``str``), and the template and parameters it came from. A parameter that is a
    Phrase is said in the reader's language too (a role, a status); anything else as it is."""

    template: str
    params: dict

    def __new__(cls, template: str, **params):
        phrase = super().__new__(cls, template.format(**params) if params else template)
        phrase.template, phrase.params = template, params
        return phrase

    def as_data(self) -> dict:
        """JSON-ready: ``{"phrase": template, "params": {name: value or a nested phrase}}``."""
        return {"phrase": self.template,
                "params": {key: value.as_data() if isinstance(value, Phrase) else value
                           for key, value in self.params.items()}}


def is_phrase_data(data) -> bool:
    return isinstance(data, dict) and isinstance(data.get("phrase"), str)


def said(data, translate: Callable[[str], str] = lambda text: text) -> str:
    """The text of a stored phrase, each template through ``translate``; a translation that
    does not fit its parameters falls back to the English template."""
    if not is_phrase_data(data):
        return "" if data is None else str(data)
    params = {key: said(value, translate) for key, value in (data.get("params") or {}).items()}
    template = data["phrase"]
    if not params:
        return translate(template) or template
    try:
        return translate(template).format(**params)
    except (KeyError, IndexError, ValueError):
        return template.format(**params)
