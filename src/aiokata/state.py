"""The learner's progress and hint state: one small JSON file in their checkout.

Written atomically; a missing file is a fresh start, and a corrupt one is kept aside (never
deleted) and replaced by a fresh start, so a broken state file can never stop the learner.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from aiokata.files import write_atomically

FOLDER = ".aiokata"
FILE = "state.json"
VERSION = 1


@dataclass
class ExerciseRecord:
    """The last test results of one exercise, valid while `digest` matches its files."""

    digest: str
    tasks_passed: list[int]
    tasks_total: int
    tests_passed: int
    tests_total: int
    first_failure: str = ""
    first_failure_test: str = ""

    @property
    def done(self) -> bool:
        return self.tests_total > 0 and self.tests_passed == self.tests_total


@dataclass
class State:
    hints_shown: dict[str, int] = field(default_factory=dict)
    results: dict[str, ExerciseRecord] = field(default_factory=dict)
    # Exercises that have passed at least once: their solution stays open after a reset.
    solved: set[str] = field(default_factory=set)
    # The exercise the learner chose last (`watch NN`, `n`, the watch list), if any.
    current: str | None = None


def path(kit: Path) -> Path:
    return kit / FOLDER / FILE


def _parse(data: object) -> State:
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError("not an aiokata state file")
    hints = data.get("hints_shown", {})
    if not all(isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in hints.items()):
        raise ValueError("bad hints_shown")
    results = {name: ExerciseRecord(**record) for name, record in data["results"].items()}
    # Both fields came after version 1's first release: absent means none yet.
    solved = data.get("solved", [])
    current = data.get("current")
    if not isinstance(solved, list) or not all(isinstance(n, str) for n in solved):
        raise ValueError("bad solved")
    if current is not None and not isinstance(current, str):
        raise ValueError("bad current")
    solved_names = set(solved) | {name for name, record in results.items() if record.done}
    return State(hints_shown=dict(hints), results=results, solved=solved_names, current=current)


def load(kit: Path) -> tuple[State, str | None]:
    """The saved state, and a warning to show when it had to be recovered."""
    file = path(kit)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return State(), None
    except OSError as exc:
        return State(), f"could not read {file} ({exc}); starting with no saved progress"
    try:
        return _parse(json.loads(text)), None
    except (ValueError, TypeError, KeyError, AttributeError):
        kept = file.with_name(f"{FILE}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        try:
            file.replace(kept)
        except OSError as exc:
            return State(), (
                f"{file} was unreadable and could not be moved aside ({exc.strerror or exc}); "
                "going on with no saved progress (your exercise files are untouched)"
            )
        return State(), (
            f"{file} was unreadable; kept it as {kept.name} and started afresh "
            "(your exercise files are untouched; results are recomputed from them)"
        )


def save(kit: Path, state: State) -> None:
    payload = {
        "version": VERSION,
        "hints_shown": state.hints_shown,
        "results": {name: asdict(record) for name, record in state.results.items()},
        "solved": sorted(state.solved),
        "current": state.current,
    }
    write_atomically(path(kit), json.dumps(payload, indent=1, sort_keys=True))
