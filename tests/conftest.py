"""tests/grading/submissions/ holds planted learner files (conftest.py, test_tasks.py, a
pytest.ini) that the grader must ignore; the kit's own test run must never collect them."""

collect_ignore = ["grading"]
