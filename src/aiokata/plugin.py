"""The pytest plugin: targets, virtual time, isolation and hygiene for every exercise test.

Registered through the `pytest11` entry point, so it is active wherever aiokata is installed;
it only acts on tests inside an `exercises/NN_slug/` folder of the kit.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import gc
import inspect
import os
import re
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from _pytest.reports import TestReport
from _pytest.runner import runtestprotocol

from aiokata import (
    bytask,
    catalog,
    compiled,
    guards,
    isolation,
    looptime_cache,
    messages,
    proof_plan,
    results,
    scenarios,
    stash,
    targets,
)
from aiokata.grading.untrusted import truncate

EXERCISE = stash.EXERCISE
FINDINGS = stash.FINDINGS
PLAN = pytest.StashKey[proof_plan.Plan]()

# Real-time budget of one test, and the loop-time budget of a virtual-time test.
DEFAULT_WALL_LIMIT = 3.0
DEFAULT_LOOP_LIMIT = 600.0
SECTION_LIMIT = 64_000  # characters of captured output kept per report section

MARKERS = (
    "task(n): the lesson's task this test checks (counts toward that task's points)",
    "allow_blocking: this test means to block the loop (no blocking-call check)",
    "wall_limit(seconds): real-time budget of the test before it is stopped (default 3)",
    "loop_limit(seconds): loop-time budget before the test calls it a deadlock (default 600)",
)
_SHORT_EXERCISE_ARG = re.compile(
    r"^(?P<pre>(?:\./)?exercises/)(?P<key>\d{1,2})(?P<post>/?(?:::.*)?)$"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aiokata", "aiokata: which code the exercise tests run against")
    group.addoption(
        "--solutions",
        action="store_true",
        help="test the reference solutions in solutions/ instead of your exercises/",
    )
    group.addoption(
        "--submission",
        metavar="DIR",
        help="test a submission: DIR is laid out like exercises/ or holds an exercises/ folder",
    )
    group.addoption(
        "--aiokata-report",
        metavar="PATH",
        help="write every exercise test's result, with its task, as JSON to PATH",
    )
    group.addoption(
        "--aiokata-stream",
        type=int,
        metavar="FD",
        help="(for `aiokata grade`) send each test's result as a JSON line to this open "
        "file descriptor, which the tests' child processes never hold",
    )
    group.addoption(
        "--handed-in",
        action="append",
        default=[],
        metavar="NN_slug=SHA256",
        help="(for `aiokata grade`) the sha256 of an exercise's file as handed in, or "
        f"NN_slug={targets.ABSENT}: a file that differs when a test imports it is not graded",
    )
    group.addoption(
        "--wall-limit",
        type=float,
        default=DEFAULT_WALL_LIMIT,
        metavar="SECONDS",
        help=f"stop an exercise test after this much real time (default {DEFAULT_WALL_LIMIT})",
    )
    group.addoption(
        "--by-task",
        action="store_true",
        help="group each exercise's tests under one node per task (task_1, task_2 ...), "
        "as an editor's test explorer shows them",
    )
    group.addoption(
        "--no-isolation",
        action="store_true",
        help="run exercise tests in this process instead of a forked child each "
        "(an infinite loop that never awaits can then hang the run)",
    )
    group.addoption(
        "--proof-plan",
        metavar="PATH",
        help="(for proofs of wrong answers) a JSON plan of the tasks each exercise is meant "
        "to fail: once such a task has failed as planned, its other tests are not run",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    """Let `pytest exercises/03` mean `pytest exercises/03_tasks`."""
    _reparse_split_options(early_config, args)
    root = early_config.rootpath
    renamed: dict[str, str] = {}
    for index, arg in enumerate(args):
        match = _SHORT_EXERCISE_ARG.match(arg)
        if not match:
            continue
        try:
            exercise = catalog.find(root, match["key"])
        except catalog.CatalogError:
            return  # the collection reports the broken metadata properly
        if exercise is not None:
            post = match["post"]
            if post.startswith("::"):  # exercises/03::test_x names a test in its test file
                post = f"/{exercise.test_file.name}{post}"
            renamed[arg] = args[index] = f"{match['pre']}{exercise.name}{post}"
    namespace = early_config.known_args_namespace
    if renamed:
        namespace.file_or_dir = [renamed.get(a, a) for a in namespace.file_or_dir]
    _tests_instead_of_code(early_config, args)
    if "--by-task" in args:
        here = early_config.invocation_params.dir
        namespace.file_or_dir = [
            bytask.with_group(root, here, a) for a in namespace.file_or_dir or []
        ]
        args[:] = [bytask.with_group(root, here, a) for a in args]


NOTES = pytest.StashKey[list[str]]()  # one-line notes on the command line, shown at the start
_NOT_TESTS = {"README.md": "the lesson", catalog.METADATA: "the exercise's metadata"}


def _tests_instead_of_code(early_config: pytest.Config, args: list[str]) -> None:
    """`pytest exercises/03_tasks/tasks.py` names the learner's code, which has no tests:
    run the exercise's tests instead, and say so. The same for its README.md and
    exercise.toml, and for the reference solution (tested with --solutions)."""
    root, here = early_config.rootpath, early_config.invocation_params.dir
    namespace = early_config.known_args_namespace
    renamed: dict[str, str] = {}
    solutions: list[tuple[str, str]] = []  # (argument, the exercise as typed in a command)
    notes: list[str] = []
    for arg in dict.fromkeys(namespace.file_or_dir):
        typed, _, test = arg.partition("::")
        try:
            found = _not_a_test_file(root, Path(here, typed).resolve())
        except catalog.CatalogError:
            return  # the collection reports the broken metadata properly
        if found is None:
            continue
        exercise, what = found
        folder = os.path.relpath(exercise.folder, here)
        command = f"exercises/{exercise.number:02d}" if Path(here) == root else folder
        tests = os.path.relpath(exercise.test_file, here)
        solution = what == "the reference solution"
        option = "--solutions " if solution or namespace.solutions else ""
        name = re.split(r"[\[:]", test)[0]
        if name and not _defines(exercise.test_file, name):
            raise pytest.UsageError(
                f"{typed} is {what}, not its tests, and {tests} has no test called {name}: "
                f"run `pytest {option}{command}` for all of its tests, or "
                f"`pytest {option}{command} -k {name}` for those whose names contain {name}"
            )
        renamed[arg] = f"{tests}::{test}" if test else folder
        instead = (
            f"{tests}::{test}` instead."
            if test
            else f"{command}` instead (the tests are in {tests})."
        )
        notes.append(f"{typed} is {what}, not its tests: running `pytest {option}{instead}")
        if solution:
            solutions.append((arg, command))
    if solutions and not namespace.solutions:
        given = {arg for arg, _ in solutions}
        if namespace.submission or any(a not in given for a in namespace.file_or_dir):
            arg, command = solutions[0]
            raise pytest.UsageError(
                f"{arg} is the reference solution, not its tests: to test it, run "
                f"`pytest --solutions {command}` on its own"
            )
        args.append("--solutions")
        namespace.solutions = True
    if not renamed:
        return
    args[:] = [renamed.get(a, a) for a in args]
    namespace.file_or_dir = [renamed.get(a, a) for a in namespace.file_or_dir]
    early_config.stash[NOTES] = notes


def _not_a_test_file(root: Path, path: Path) -> tuple[catalog.Exercise, str] | None:
    """The exercise `path` belongs to and what the file is, when it is one of its files
    without tests: the learner's code, the lesson, the metadata or the reference solution."""
    exercises = (root / "exercises").resolve()
    for exercise in catalog.load_catalog(root):
        folder = path.parent
        if folder.parent == exercises and folder.name in (exercise.name, f"{exercise.number:02d}"):
            if path.name == exercise.module_file:
                return exercise, "your code"
            if path.name in _NOT_TESTS:
                return exercise, _NOT_TESTS[path.name]
        solutions = (root / "solutions" / exercise.name).resolve()
        if folder == solutions and path.name == exercise.module_file:
            return exercise, "the reference solution"
    return None


def _defines(test_file: Path, name: str) -> bool:
    """Does `test_file` define a test (function or class) called `name` at its top level?"""
    try:
        tree = ast.parse(test_file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return True  # pytest will say what is wrong with it
    return any(
        getattr(node, "name", None) == name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Iterator[object]:
    """Keep looptime's call wrapper from asking for a loop where a plain test has none.

    looptime looks for the running loop with `policy.get_event_loop()` whenever a test has
    pytest-asyncio's `event_loop_policy` among its fixtures, as every test does. For a plain
    (not async) test there is no loop: Python 3.12+ warns (3.14 raises), and the suite's
    `filterwarnings = error` turns that into a failure of a test that never touched asyncio.
    Hiding the fixture from looptime for that call changes nothing else: the test's own
    arguments are looked up by name, and looptime has nothing to do in a plain test anyway."""
    hidden = None
    funcargs = pyfuncitem.funcargs
    inner = getattr(getattr(pyfuncitem.obj, "hypothesis", None), "inner_test", None)
    plain = pyfuncitem.get_closest_marker("asyncio") is None and not (
        inspect.iscoroutinefunction(inner or pyfuncitem.obj)
    )
    if plain and "event_loop_policy" in funcargs:
        if "event_loop_policy" not in pyfuncitem._fixtureinfo.argnames:
            hidden = funcargs.pop("event_loop_policy")
    try:
        return (yield)
    finally:
        if hidden is not None:
            funcargs["event_loop_policy"] = hidden


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> object:
    return bytask.make_module(module_path, parent)


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for note in session.config.stash.get(NOTES, []):
        if reporter is not None:
            reporter.write_line(f"aiokata: {note}", yellow=True)


_VALUE_OPTIONS = ("--submission", "--aiokata-report")


def _reparse_split_options(early_config: pytest.Config, args: list[str]) -> None:
    """pytest finds its rootdir and configuration before plugins add their options, so in
    `--submission DIR` it takes DIR for a test path and roots the run there. Start again
    with `--submission=DIR`, which it cannot mistake."""
    given = list(early_config.invocation_params.args)
    joined = list(given)
    for index, arg in enumerate(given[:-1]):
        if arg in _VALUE_OPTIONS and Path(given[index + 1]).exists():
            joined[index : index + 2] = [f"{arg}={given[index + 1]}", ""]
    if joined == given:
        return
    joined = [a for a in joined if a]
    if given != sys.argv[1:]:
        raise pytest.UsageError(
            "write these options as --submission=DIR and --aiokata-report=PATH "
            "when calling pytest from Python"
        )
    capture = early_config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.stop_global_capturing()  # or the new process would write into its files
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *joined])


def pytest_configure(config: pytest.Config) -> None:
    compiled.keep(str(config.rootpath / compiled.FOLDER))  # an installed aiokata, if not yet
    looptime_cache.install(config)
    plan = config.getoption("proof_plan")
    if plan:
        config.stash[PLAN] = proof_plan.Plan.load(plan)
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    try:
        catalog.load_catalog(config.rootpath)
    except catalog.CatalogError as exc:
        raise pytest.UsageError(f"aiokata: broken exercise metadata: {exc}") from None
    if config.option.tbstyle == "auto" and (config.rootpath / "exercises").is_dir():
        config.option.tbstyle = "short"  # learners read the test and their line, not pytest
    solutions = config.getoption("solutions")
    submission = config.getoption("submission")
    if solutions and submission:
        raise pytest.UsageError("choose one of --solutions and --submission, not both")
    if solutions:
        targets.set_current(targets.Target("solutions", config.rootpath / "solutions"))
    elif submission:
        folder = Path(submission).expanduser().resolve()
        if not folder.is_dir():
            raise pytest.UsageError(f"--submission {submission}: no such folder")
        targets.set_current(targets.Target("submission", targets.submission_base(folder)))
        targets.expect_handed_in(_handed_in(config))
    else:
        targets.set_current(targets.LEARNER)
    config.stash[results.COLLECTOR] = results.Collector(config, _grader_stream(config))
    config.pluginmanager.register(config.stash[results.COLLECTOR], "aiokata-results")


def _handed_in(config: pytest.Config) -> dict[str, str]:
    digests = {}
    for entry in config.getoption("handed_in"):
        name, _, digest = entry.partition("=")
        if not digest:
            raise pytest.UsageError(f"--handed-in {entry}: write NN_slug=SHA256")
        digests[name] = digest
    return digests


def _grader_stream(config: pytest.Config) -> int | None:
    fd = config.getoption("aiokata_stream")
    if fd is None:
        return None
    try:
        os.fstat(fd)
    except OSError:
        raise pytest.UsageError(f"--aiokata-stream {fd}: not an open file descriptor") from None
    if not _isolated(config):
        raise pytest.UsageError("--aiokata-stream needs a child process per test (fork)")
    isolation.parent_only.add(fd)
    isolation.forbid_inspection()
    return fd


def pytest_report_header(config: pytest.Config) -> str | None:
    if not (config.rootpath / "exercises").is_dir():
        return None
    mode = "isolated (a child process per test)" if _isolated(config) else "in-process"
    return f"aiokata: testing {targets.current().describe(config.rootpath)}; {mode}"


def _isolated(config: pytest.Config) -> bool:
    return (
        isolation.available()
        and not config.getoption("no_isolation")
        and not config.getoption("usepdb")
    )


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    for item in items:
        exercise = catalog.exercise_for_path(config.rootpath, item.path)
        if exercise is None or not isinstance(item, pytest.Function):
            continue
        marker = item.get_closest_marker("task")
        task_id = marker.args[0] if marker and marker.args else None
        if exercise.task(task_id) is None:
            raise pytest.UsageError(
                f"{item.nodeid}: every exercise test needs @pytest.mark.task(N), with N one of "
                f"the tasks in {exercise.name}/{catalog.METADATA} "
                f"({', '.join(str(t.id) for t in exercise.tasks)})"
            )
        item.stash[EXERCISE] = exercise
        if item.get_closest_marker("looptime") is None:
            item.add_marker(pytest.mark.looptime)
        item.fixturenames.append("_aiokata_hygiene")
        inner = getattr(getattr(item.obj, "hypothesis", None), "inner_test", None)
        if inspect.iscoroutinefunction(inner):  # a scenario test: limit each scenario
            item.obj.hypothesis.inner_test = _with_loop_limit(
                inner, _loop_limit(item), _virtual(item)
            )
        elif inspect.iscoroutinefunction(item.obj):
            item.obj = _with_loop_limit(item.obj, _loop_limit(item), _virtual(item))
        if not _isolated(config) and config.pluginmanager.hasplugin("timeout"):
            # Without a child process to kill, pytest-timeout is the last resort: it may end
            # the run, but it will not hang forever.
            item.add_marker(pytest.mark.timeout(max(10.0, 3 * _wall_limit(item))))


def _virtual(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("looptime")
    return not (marker and marker.args and not marker.args[0])


SCENARIO_WALL_LIMIT = 5.0  # a scenario test runs dozens of scenarios, and shrinks a failure


# Real threads and processes run at the machine's pace: at a load of 8 on 2 cores, starting a
# Python child alone can take seconds. Only a wrong answer that hangs ever waits this long.
REAL_TIME_WALL_LIMIT = 10.0


def _wall_limit(item: pytest.Item) -> float:
    marker = item.get_closest_marker("wall_limit")
    given = item.config.getoption("wall_limit")
    if not _virtual(item) and given == DEFAULT_WALL_LIMIT:
        return max(float(marker.args[0]) if marker else 0.0, REAL_TIME_WALL_LIMIT)
    if marker:
        return float(marker.args[0])
    if hasattr(getattr(item, "obj", None), "hypothesis") and given == DEFAULT_WALL_LIMIT:
        return SCENARIO_WALL_LIMIT
    return given


def _loop_limit(item: pytest.Item) -> float:
    marker = item.get_closest_marker("loop_limit")
    if marker:
        return float(marker.args[0])
    # In real time the loop budget must end before the process is stopped.
    return DEFAULT_LOOP_LIMIT if _virtual(item) else max(_wall_limit(item) - 1.0, 0.5)


def _with_loop_limit(test, seconds: float, virtual: bool):
    """Fail a test whose code waits forever (a deadlock) once `seconds` of loop time pass:
    under virtual time that costs no real time at all."""

    @functools.wraps(test)
    async def limited(*args, **kwargs):
        loop = asyncio.get_running_loop()
        warn = loop.call_later(seconds, functools.partial(isolation.note, "loop-limit"))
        started = loop.time()
        try:
            async with asyncio.timeout(seconds) as scope:
                return await test(*args, **kwargs)
        except TimeoutError:
            if not scope.expired():
                raise
        finally:
            warn.cancel()
            findings = guards.current()
            if findings is not None:
                findings.loop_elapsed = loop.time() - started  # virtual while looptime is on
        # Raised out here, after the `except`: no chained traceback.
        pytest.fail(messages.loop_limit(seconds, virtual), pytrace=False)

    return limited


@pytest.fixture
async def _aiokata_hygiene(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    findings = request.node.stash.get(FINDINGS, None)
    if findings is None:
        yield
        return
    scenarios.reset()
    loop = asyncio.get_running_loop()
    findings.loop = loop
    findings.tasks_before = set(asyncio.all_tasks(loop))
    loop.set_exception_handler(findings.on_loop_error)
    yield
    leftover = [t for t in findings.leftover if not t.done()]
    for task in leftover:
        task.cancel()
    if leftover:
        # Bounded: a task that swallows its cancellation must not hang the teardown.
        await asyncio.wait(leftover, timeout=0.5)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[TestReport]:
    report: TestReport = yield
    findings = item.stash.get(FINDINGS, None)
    if findings is None or call.when != "call":
        return report
    isolation.note("called")
    if not _virtual(item):
        report.user_properties.append((messages.REAL_TIME, True))
    elif findings.loop_elapsed is not None:
        report.user_properties.append((messages.LOOP_TIME, findings.loop_elapsed))
    gc.collect()  # surfaces coroutines never awaited and task errors never retrieved
    findings.collect_leftovers()
    problems = findings.problems()
    if report.passed and problems:
        report.outcome = "failed"
        report.longrepr = "\n\n".join(problems)
    elif report.failed:
        extra = [p for p in problems if p not in str(report.longrepr)]
        if extra:
            report.sections.append((messages.NOTES, "\n\n".join(extra)))
    return report


def _findings_for(item: pytest.Item) -> guards.Findings:
    exercise = item.stash[EXERCISE]
    path = targets.current().module_path(exercise)
    return guards.Findings(
        focus={str(path)},
        allow_blocking=item.get_closest_marker("allow_blocking") is not None,
        test_file=str(item.path),
        test_name=getattr(item, "originalname", item.name),
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    if EXERCISE not in item.stash:
        return None
    plan = item.config.stash.get(PLAN, None)
    name, task = item.stash[EXERCISE].name, item.get_closest_marker("task").args[0]
    if plan is not None and plan.settled(name, task):
        return True  # left out: it cannot change the proof's verdict (proof_plan.py)
    findings = _findings_for(item)
    item.stash[FINDINGS] = findings
    # Built before any traceback: pytest's own formatting of one costs ~40 ms a failure.
    own_repr = item.repr_failure
    own_py = item._repr_failure_py  # what pytest uses for errors in set-up and teardown
    verbose = item.config.get_verbosity() >= 2  # authors debugging a test: pytest's own report

    def plain(excinfo: pytest.ExceptionInfo) -> str | None:
        return messages.plain_failure(excinfo, findings.focus, None if verbose else item.path)

    item.repr_failure = lambda excinfo, **kw: (  # type: ignore[method-assign]
        plain(excinfo) or own_repr(excinfo, **kw)
    )
    item._repr_failure_py = lambda excinfo, *args, **kw: (  # type: ignore[method-assign]
        plain(excinfo) or own_py(excinfo, *args, **kw)
    )
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    if _isolated(item.config):
        reports = _run_isolated(item, findings)
    else:
        with guards.guarded(findings):
            reports = runtestprotocol(item, nextitem=nextitem, log=False)
        _charge_left_open(reports, findings)
    for report in reports:
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    if plan is not None:
        result = item.config.stash[results.COLLECTOR].results.get(item.nodeid)
        if result is not None:
            plan.record(name, task, result.status, result.message)
    return True


_broken_imports: dict[str, str] = {}


def _run_isolated(item: pytest.Item, findings: guards.Findings) -> list[TestReport]:
    config = item.config
    path = str(targets.current().module_path(item.stash[EXERCISE]))
    if path in _broken_imports:
        return [messages.failed_report(item, _broken_imports[path], status="error")]

    def child() -> list[dict]:
        with guards.guarded(findings):
            try:
                reports = runtestprotocol(item, log=False, nextitem=None)
            except (KeyboardInterrupt, SystemExit) as exc:
                reports = [messages.failed_report(item, messages.interrupted(exc))]
        _charge_left_open(reports, findings)
        for report in reports:  # a flood of output must not flood the pipe and the parent
            report.sections = [(t, truncate(c, SECTION_LIMIT)) for t, c in report.sections]
        return [config.hook.pytest_report_to_serializable(config=config, report=r) for r in reports]

    targets.precompile(Path(path))
    _prepare_parent(item)
    outcome = isolation.run_forked(child, _wall_limit(item))
    if outcome.reports is not None:
        reports = _reports_of(item, outcome.reports)
        if reports is None:
            return [messages.failed_report(item, messages.TAMPERED, status="error")]
        if outcome.strays:
            _charge(reports, messages.strays(outcome.strays))
        return reports
    message, status, import_broken = messages.lost_child(
        outcome, path, _wall_limit(item), _virtual(item)
    )
    if import_broken:
        _broken_imports[path] = messages.import_broken_elsewhere(message, item.nodeid)
    return [messages.failed_report(item, message, status=status, duration=outcome.wall)]


_TMP_FIXTURES = frozenset({"tmp_path", "tmp_path_factory", "tmpdir", "tmpdir_factory"})
_freezegun_scanned = False


def _prepare_parent(item: pytest.Item) -> None:
    """Made once here, in the parent, what each child would otherwise make again for itself.
    - This session's temporary folder: made in a child, every test that asks for tmp_path
      would start a session folder of its own under /tmp/pytest-of-USER, which nothing ever
      removes (a child ends with os._exit) and which pytest reads in full, to number the next
      one, each time (15,000 of them, left by earlier runs, cost 18's tests 20-50 ms each).
    - freezegun's scan of every loaded module's attributes, made at a process's first freeze
      (about 35 ms; later freezes reuse it): exercise 23 freezes time in almost every test."""
    global _freezegun_scanned
    if _TMP_FIXTURES & set(getattr(item, "fixturenames", ())):
        factory = getattr(item.config, "_tmp_path_factory", None)
        if factory is not None:
            factory.getbasetemp()
    if not _freezegun_scanned and "freezegun.api" in sys.modules:
        _freezegun_scanned = True
        import freezegun

        freezer = freezegun.freeze_time("2000-01-01")
        freezer.start()
        freezer.stop()


def _charge(reports: list[TestReport], message: str) -> None:
    """A test whose code left work running (processes, threads) or things open (servers,
    sessions) has not passed; a test that failed anyway says so in a note."""
    call = next((r for r in reports if r.when == "call"), None)
    if call is None:
        return
    if call.passed:
        call.outcome = "failed"
        call.longrepr = message
    elif message not in str(call.longrepr):
        call.sections.append((messages.NOTES, message))


def _charge_left_open(reports: list[TestReport], findings: guards.Findings) -> None:
    """Judged after the teardown: a test may close what the code under test handed it."""
    problems = findings.ledger.left_open()
    if problems:
        _charge(reports, "\n\n".join(problems))


def _reports_of(item: pytest.Item, sent: object) -> list[TestReport] | None:
    """The child's reports, or None unless they are well-formed reports of this very test:
    code under test could write to the child's pipe, and must not crash the run or speak for
    another test."""
    config = item.config
    try:
        reports = [
            config.hook.pytest_report_from_serializable(config=config, data=data)
            for data in sent  # type: ignore[union-attr]
        ]
    except Exception:
        return None
    if not reports or not all(
        isinstance(r, TestReport) and r.nodeid == item.nodeid and r.when in _PHASES for r in reports
    ):
        return None
    return reports


_PHASES = ("setup", "call", "teardown")
