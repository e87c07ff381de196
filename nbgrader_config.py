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

# What replaces each solution in the released notebooks: the error says what to do, so a learner who
# runs a cell (or a check that calls the function) before answering knows where to go.
c.ClearSolutions.code_stub = {
    "python": '# YOUR CODE HERE\nraise NotImplementedError("not answered yet: replace this line with your code, then run the cell")',
}

# Every cell, answers included, gets at most this many seconds during autograding: an infinite
# loop scores 0 on the cells that need it and grading goes on. The slowest solution cell (ps4's
# CNN training) takes a few seconds.
c.Execute.timeout = 60

# Autograding kernels print one-line ("Minimal") tracebacks: a traceback quotes the lines around
# the failing one, and in a test cell those can be the hidden tests below a visible check. (Each
# hidden section also switches to Minimal itself, for kernels started some other way.)
c.Execute.extra_arguments = ["--InteractiveShell.xmode=Minimal"]

# Feedback must show neither hidden tests nor the mark schemes of written answers: autograde puts
# the locked task cells back from the gradebook, mark scheme included, so strip both here.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
