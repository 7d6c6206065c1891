"""nbgrader configuration for the course.

Plain nbgrader and `python -m autograder` both read this file. Run nbgrader from the
repository root (its `nbgrader_config.py` loads this one), e.g.

    nbgrader generate_assignment 01-gradient-descent --force
    nbgrader db assignment list

Layout, relative to the repository root:
    solutions/<assignment>/<notebook>.ipynb    instructor sources (nbgrader "source")
    course/<assignment>/<notebook>.ipynb       student releases   (nbgrader "release")
    grading/                                   git-ignored workspace: submitted/, autograded/,
                                               feedback/ and gradebook.db
"""

import os

c = get_config()  # noqa: F821  (injected by traitlets when it executes this file)

_here = os.path.dirname(os.path.abspath(__file__))
_root = os.path.dirname(_here)

c.CourseDirectory.course_id = "nnlab-course"
c.CourseDirectory.root = _root
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.submitted_directory = os.path.join("grading", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("grading", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("grading", "feedback")
c.CourseDirectory.solution_directory = os.path.join("grading", "solution")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_root, "grading", "gradebook.db")

# Stubs the student sees in place of the solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A student who deletes a locked cell gets it back at grading time instead of losing points.
c.OverwriteCells.add_missing_cells = True

# `nbgrader export` writes into the git-ignored workspace, not the repository root (grades
# hold student data). `grade` keeps its own grading/grades.csv, so a different name.
# ExportPlugin, not CsvExportPlugin: `nbgrader export --to FILE` still wins.
c.ExportPlugin.to = os.path.join(_root, "grading", "nbgrader-grades.csv")
