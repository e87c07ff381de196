"""Every relative link in the course's notebooks and Markdown files points at a file that exists.

JupyterLab serves the course folder (README's open command), so a lesson's `../exercises/ps1/ps1.ipynb`
works when that file exists relative to the lesson.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)|<a\s+[^>]*href=\"([^\"]+)\"")


def _documents():
    for pattern in ("lessons/*.ipynb", "exercises/*/*.ipynb", "flashcards/*.ipynb"):
        yield from sorted(ROOT.glob(pattern))
    yield from sorted(p for p in ROOT.glob("*.md")) + sorted(ROOT.glob("flashcards/*.md"))


def _markdown(path: Path) -> str:
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return path.read_text(encoding="utf-8")


def _relative_targets(text: str):
    for match in LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if re.match(r"^[a-z]+:|^#|^<", target):  # web addresses, mailto:, anchors, placeholders
            continue
        yield target.split("#", 1)[0]


@pytest.mark.parametrize("path", list(_documents()), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    broken = [t for t in _relative_targets(_markdown(path)) if t and not (path.parent / t).exists()]
    assert not broken, f"{path.relative_to(ROOT)} links to missing files: {broken}"


# The problem sets that practise each lesson, by the topic in the lesson's file name (lesson numbers change when
# lessons are added; the topics do not). Lesson 04 has two sets (the forward side, then the learning side).
PRACTICE = {
    "dense_limits": ("ps1",),
    "local_connectivity": ("ps2",),
    "ekg_conv1d": ("ps3",),
    "mnist_cnn": ("ps4", "ps5"),
    "modern": ("ps6",),
    "interview_prep": ("ps7",),
}


def _topic(lesson: Path) -> str:
    topics = [t for t in PRACTICE if t in lesson.stem]
    assert len(topics) == 1, f"{lesson.name}: add its topic and problem sets to PRACTICE in {Path(__file__).name}"
    return topics[0]


def test_lessons_link_to_the_next_lesson_and_their_practice():
    lessons = sorted(ROOT.glob("lessons/0*.ipynb"))
    for lesson, following in zip(lessons, lessons[1:]):
        targets = set(_relative_targets(_markdown(lesson)))
        assert following.name in targets, f"{lesson.name} has no link to {following.name}"
    for lesson in lessons[1:]:
        targets = set(_relative_targets(_markdown(lesson)))
        for ps in PRACTICE[_topic(lesson)]:
            assert f"../exercises/{ps}/{ps}.ipynb" in targets, f"{lesson.name} does not link its problem set {ps}"
        assert "../flashcards/review.ipynb" in targets, f"{lesson.name} does not link the flashcards"


def test_every_problem_set_practises_a_lesson():
    sets = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and p.name.startswith("ps"))
    practised = sorted(ps for group in PRACTICE.values() for ps in group)
    assert sets == practised, f"problem sets {sets} vs PRACTICE {practised}"
    assert sorted(p.name for p in (ROOT / "exercises").iterdir() if p.is_dir()) == sets
