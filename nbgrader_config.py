# Lets plain `nbgrader ...` commands run from the repository root.
# The course configuration lives in autograder/nbgrader_config.py.
load_subconfig("autograder/nbgrader_config.py")  # noqa: F821
