"""tests/grading/submissions/ holds planted learner files (conftest.py, test_tasks.py, a
pytest.ini) that the grader must ignore; the kit's own test run must never collect them.

`kit` is a learner's checkout in a temporary folder: the exercises and solutions, with the
kit's pytest settings, for tests that drive `aiokata` or `pytest` as a learner would.

Run with `-n auto` (pytest-xdist), each test file stays on one worker: a file's module-scoped
runs (one grading of the golden cases, the proofs) are made once, not once per worker.

`kept_runs` keeps the suite's long grading runs between runs, as the proofs are kept;
`--fresh-proofs` makes every one again."""

import shutil
from pathlib import Path

import pytest

from aiokata.proof_cache import RUNS, KeptRuns

collect_ignore = ["grading"]
KIT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fresh-proofs",
        action="store_true",
        help="run every exercise proof and grading run, ignoring those kept from earlier runs",
    )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    from xdist.scheduler import LoadFileScheduling

    return LoadFileScheduling(config, log)


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    copy = tmp_path / "kit"
    copy.mkdir()
    for name in ("exercises", "solutions"):
        shutil.copytree(KIT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "conftest.py"):
        shutil.copyfile(KIT / name, copy / name)
    return copy


@pytest.fixture(scope="session")
def kept_runs(request: pytest.FixtureRequest) -> KeptRuns | None:
    return None if request.config.getoption("fresh_proofs") else KeptRuns(KIT / RUNS)
