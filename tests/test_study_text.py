"""Card text → HTML: formatting in prose, maths and code left alone, the same rules for the widgets and Anki."""

import pytest

from course_lib.study.anki import to_anki_html
from course_lib.study.text import to_html


@pytest.mark.parametrize(
    "text, expected",
    [
        ("What is *weight sharing*?", "What is <i>weight sharing</i>?"),
        ("**Same** padding", "<b>Same</b> padding"),
        ("**bold** and *italic*", "<b>bold</b> and <i>italic</i>"),
        ("a < b & c", "a &lt; b &amp; c"),
        ("line one\nline two", "line one<br>line two"),
        # maths keeps its *, _ and < for MathJax; formatting never reaches inside
        ("$y_i = w * x_i$ and *this*", "$y_i = w * x_i$ and <i>this</i>"),
        ("$$a < b$$", "$$a &lt; b$$"),
        ("$a_1$ then $b_2$", "$a_1$ then $b_2$"),
        # code is literal: no maths, no emphasis inside
        ("set `$COURSE_LIB_DATA` or `*.yaml`", "set <code>$COURSE_LIB_DATA</code> or <code>*.yaml</code>"),
        # a lone star, stars with spaces and products are not emphasis
        ("2 * 3 * 4", "2 * 3 * 4"),
        ("a*b*c", "a*b*c"),
        ("5 filters * (3·3 + 1)", "5 filters * (3·3 + 1)"),
        ("* not a list", "* not a list"),
    ],
)
def test_to_html(text, expected):
    assert to_html(text) == expected


def test_anki_gets_the_same_formatting_with_its_maths_delimiters():
    assert to_anki_html("*kernel*: $w_{ij}$ and $$\\sum_i x_i$$") == r"<i>kernel</i>: \(w_{ij}\) and \[\sum_i x_i\]"


def test_bad_arguments():
    with pytest.raises(TypeError, match="text: expected a string, got int"):
        to_html(3)
    with pytest.raises(ValueError, match="math: expected one of"):
        to_html("x", math="latex")
