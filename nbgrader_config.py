"""nbgrader configuration for convcourse.

solutions/<ps>/<ps>.ipynb are the source notebooks; ``nbgrader generate_assignment`` writes
the student versions to exercises/<ps>/. Run nbgrader from the folder holding this file (the
course root) with the virtualenv's ``bin`` on PATH (nbgrader runs ``alembic``).
"""

import os

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.course_id = "convcourse"

# Every cell, answers included, gets at most this many seconds during autograding: an infinite
# loop scores 0 on the cells that need it and grading goes on. The slowest solution cell (ps4's
# CNN training) takes a few seconds.
c.Execute.timeout = 60

# Feedback must not show hidden tests: strip their source (the tests' tracebacks are already
# reduced to one line because each hidden section switches IPython to "Minimal" tracebacks).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
