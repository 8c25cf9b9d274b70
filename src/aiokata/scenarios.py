"""Generated scenarios for exercise tests: hypothesis, set up so verdicts are reproducible.

    @pytest.mark.task(2)
    @scenarios.given(jobs=st.lists(...))
    async def test_fetch_all_in_any_scenario(jobs):
        scenarios.describe(f"with urls {urls!r}")
        ...

Hypothesis shrinks a failing scenario to its smallest form and runs that one last, so the
failure the learner reads is about the smallest scenario. Its own report ("Falsifying
example: ...") is for developers and never shown: tests say what went wrong in their own
words, and `describe` names the scenario for failures the test did not foresee.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import given as _given
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.errors import FlakyFailure
from hypothesis.internal.conjecture import engine as _engine

DEFAULT_EXAMPLES = 30

# Hypothesis keeps a cache (constants read from source files) under ./.hypothesis: never in a
# learner's folder or a submission being graded.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "aiokata-hypothesis")

# Shrinking a failure is bounded by a count (hypothesis' own bound is 500 shrinks, then five
# minutes): a loaded machine must not turn a wrong answer's "fail" into a wall-limit timeout,
# and a count, unlike a time, gives the same smallest scenario on every machine.
MAX_SHRINKS = 60
if isinstance(getattr(_engine, "MAX_SHRINKS", None), int):
    _engine.MAX_SHRINKS = MAX_SHRINKS

_described: str | None = None


def given(*args: Any, max_examples: int = DEFAULT_EXAMPLES, **kwargs: Any) -> Callable:
    """`hypothesis.given` with the kit's settings: derandomized (a grade never depends on
    luck), no example database (nothing written into a learner's or grader's folder), no
    deadline and no speed health check (a loaded machine must not change a verdict), and
    no "explain" phase (its report is not shown)."""
    configured = settings(
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=max_examples,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large),
        print_blob=False,
        report_multiple_bugs=False,  # one failure, the smallest, told plainly
    )

    return lambda test: configured(_given(*args, **kwargs)(test))


def first_failure(exc: BaseException) -> BaseException | None:
    """The failure inside hypothesis' FlakyFailure (a scenario that failed once and then
    passed when replayed), or None when `exc` is not one."""
    if isinstance(exc, FlakyFailure) and exc.exceptions:
        inner = exc.exceptions[0]
        # hypothesis wraps a BaseException (pytest's own failures are ones) to group it
        while type(inner).__name__ == "_WrappedBaseException" and inner.__cause__ is not None:
            inner = inner.__cause__
        return first_failure(inner) or inner
    return None


def describe(text: str) -> None:
    """Name the scenario now running, in the learner's words ("with urls ['a', 'a']"): an
    unexpected error in it is reported with this, not with hypothesis' own report."""
    global _described
    _described = text


def reset() -> None:
    """Forget the last scenario (each test starts without one)."""
    global _described
    _described = None


def described() -> str | None:
    """The scenario last described in this process (the one that failed, after shrinking)."""
    return _described
