"""nbgrader settings every user of the class reads (setup.sh installs it as <venv>/etc/jupyter/nbgrader_config.py).

Students need the course id and the exchange to fetch and submit from the Assignments panel
(without ``course_id`` they get "No course id specified"); the instructor's own
``~/.jupyter/nbgrader_config.py`` adds where the course folder is.
"""

c = get_config()  # noqa: F821  (provided by nbgrader/Jupyter when it loads this file)

c.CourseDirectory.course_id = "convcourse"
# Mode 0777 (setup.sh makes it so): nbgrader sets the modes inside it and relies on Unix
# permissions to keep each student's submissions and feedback apart.
c.Exchange.root = "/srv/nbgrader/exchange"
