"""The instructor's own nbgrader settings (setup.sh installs it as ~<instructor>/.jupyter/nbgrader_config.py).

Formgrader reads only the Jupyter config folders and the server's root folder (the home), never
the course folder's own ``nbgrader_config.py``: this file says where the course folder is and
loads that file (solutions/ as source, exercises/ as release, time limits, feedback without
hidden tests or mark schemes). Course id and exchange come from the class environment's config.
"""

import os

c = get_config()  # noqa: F821  (provided by nbgrader/Jupyter when it loads this file)

c.CourseDirectory.root = "/home/instructor/convcourse"
load_subconfig(os.path.join(c.CourseDirectory.root, "nbgrader_config.py"))  # noqa: F821
