"""nbgrader configuration for convcourse.

solutions/<ps>/<ps>.ipynb are the source notebooks; ``nbgrader generate_assignment`` writes
the student versions to exercises/<ps>/.
"""

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.course_id = "convcourse"
