"""Work made once, not again at every start or in every test's child: compiled modules kept
where PYTHONDONTWRITEBYTECODE is set, one session folder for the tests' temporary folders,
and freezegun's scan of the loaded modules."""

import datetime
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import freezegun.api

from aiokata import plugin

KIT = Path(__file__).resolve().parents[1]
TESTS_18 = "exercises/18_subprocesses/test_subprocesses.py"  # tests that ask for tmp_path

# Notes sys.pycache_prefix at the moment hypothesis is first imported.
WATCH = """
import sys
seen = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "hypothesis" and not seen:
            seen.append(sys.pycache_prefix)
sys.meta_path.insert(0, Watch())
import aiokata.plugin
print(seen[0] if seen else "hypothesis not imported", sys.dont_write_bytecode)
"""


def test_compiled_modules_are_kept_before_the_plugin_imports_hypothesis():
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPYCACHEPREFIX", None)
    done = subprocess.run(
        [sys.executable, "-c", WATCH], cwd="/", env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(KIT / ".aiokata" / "pycache"), "False"]


def test_tests_asking_for_tmp_path_share_one_session_folder(tmp_path: Path):
    root = tmp_path / "root"
    root.mkdir()
    env = {**os.environ, "PYTEST_DEBUG_TEMPROOT": str(root)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--solutions", *(f"{TESTS_18}::{t}" for t in (
            "test_run_returns_the_return_code_and_the_output",
            "test_run_reports_a_failing_return_code",
            "test_run_of_a_silent_child_is_zero_and_empty_text"))],
        cwd=KIT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "3 passed" in done.stdout, done.stdout + done.stderr
    (user,) = root.iterdir()
    sessions = [p.name for p in user.iterdir() if p.name != "pytest-current"]
    assert len(sessions) == 1, sessions  # made in each child, there were three
    inside = [p for p in (user / sessions[0]).iterdir() if not p.is_symlink()]
    assert len(inside) == 3, inside  # one folder a test, inside that session's


def test_scanning_for_freezegun_puts_the_real_clocks_back(monkeypatch):
    monkeypatch.setattr(plugin, "_freezegun_scanned", False)
    monkeypatch.setattr(freezegun.api, "_GLOBAL_MODULES_CACHE", {})
    real = (time.time, time.monotonic, time.perf_counter, datetime.datetime)
    plugin._prepare_parent(SimpleNamespace(fixturenames=[], config=None))
    assert (time.time, time.monotonic, time.perf_counter, datetime.datetime) == real
    assert "aiokata.plugin" in freezegun.api._GLOBAL_MODULES_CACHE  # the children inherit it
    before = dict(freezegun.api._GLOBAL_MODULES_CACHE)
    plugin._prepare_parent(SimpleNamespace(fixturenames=[], config=None))
    assert freezegun.api._GLOBAL_MODULES_CACHE == before  # once a process
