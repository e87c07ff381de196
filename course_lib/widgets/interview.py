"""Interview practice cards (lesson 06): write your own answer, then open the senior answer."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets

__all__ = ["SENIOR_ANSWERS", "load_senior_answers", "interview_card"]

#: the senior answers, found next to the lessons whatever the working directory
SENIOR_ANSWERS = Path(__file__).resolve().parents[2] / "lessons" / "06_senior_answers.yaml"


def load_senior_answers(path=None) -> list[dict]:
    """The entries of the senior-answers YAML (default :data:`SENIOR_ANSWERS`): a list of mappings with
    ``question`` and ``answer_html`` (strings; other keys such as ``level`` are kept)."""
    import yaml

    path = SENIOR_ANSWERS if path is None else Path(path)
    with open(path, encoding="utf-8") as handle:
        entries = yaml.safe_load(handle)
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: expected a non-empty list of entries, got {type(entries).__name__}")
    for index, entry in enumerate(entries):
        missing = [key for key in ("question", "answer_html")
                   if not isinstance(entry, dict) or not isinstance(entry.get(key), str)]
        if missing:
            raise ValueError(f"{path}: entry {index} needs the text field(s) {missing}; got {entry!r:.200}")
    return entries


def interview_card(entry: dict) -> widgets.VBox:
    """A notes box for your own answer, and the senior answer collapsed until you open it.

    ``entry``: one item of :func:`load_senior_answers` (``question``, ``answer_html``).
    """
    if not isinstance(entry, dict) or not {"question", "answer_html"} <= set(entry):
        raise ValueError(f"entry: expected a mapping with 'question' and 'answer_html', got {entry!r:.200}")
    notes = widgets.Textarea(placeholder="Write your answer here first (bullet points are fine) ...",
                             layout=widgets.Layout(width="95%", height="90px"))
    reveal = widgets.Accordion(children=[widgets.HTML(entry["answer_html"])], titles=("Senior answer — click to reveal",))
    reveal.selected_index = None
    return widgets.VBox([widgets.HTML(f"<b>{entry['question']}</b>"), notes, reveal])
