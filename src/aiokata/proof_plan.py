"""Which tests a proof run may leave out, without changing the proof's verdict.

A wrong answer's proof holds when it fails exactly the tasks it names and one failure says
what the proof expects (proofs.check_proof). Once such a task has failed and a failure has
said it, the task's other tests cannot change that verdict: a failed task stays failed, and
every other task still runs all its tests. So they are not run. In the kit's catalogue that is
about a third of a wrong answer's test time (often the scenario tests, which shrink).

The plan is a JSON file that proofs.run_all writes for each run of wrong answers, passed with
`--proof-plan`: {"NN_slug": {"fails": [2, 3], "says": "..."}}. Stubs, solutions and right
answers have no entry, so every one of their tests runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Expected:
    fails: frozenset[int]
    says: str
    failed: set[int] = field(default_factory=set)
    said: bool = False


def says_it(says: str, message: str) -> bool:
    """Whether a failure's message says what a wrong answer's proof expects (any case)."""
    return says.lower() in message.lower()


class Plan:
    def __init__(self, entries: dict[str, Expected]) -> None:
        self.entries = entries

    @classmethod
    def load(cls, path: str) -> Plan:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            entries = {
                name: Expected(frozenset(int(t) for t in entry["fails"]), str(entry["says"]))
                for name, entry in data.items()
            }
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            import pytest  # only here: the author's verbs load this module without pytest

            raise pytest.UsageError(f"--proof-plan {path}: not a proof plan ({exc})") from exc
        return cls(entries)

    def settled(self, exercise: str, task: int) -> bool:
        """Whether this task's remaining tests can no longer change the proof's verdict."""
        expected = self.entries.get(exercise)
        return (
            expected is not None
            and task in expected.fails
            and task in expected.failed
            and expected.said
        )

    def record(self, exercise: str, task: int, status: str, message: str) -> None:
        """One test's result, judged as check_proof judges it (anything but a pass fails)."""
        expected = self.entries.get(exercise)
        if expected is None or status == "pass":
            return
        expected.failed.add(task)
        if says_it(expected.says, message):
            expected.said = True


def write(path: Path, wrong: dict[str, tuple[tuple[int, ...], str]]) -> None:
    """The plan for a run of these wrong answers: {exercise: (fails, says)}."""
    data = {name: {"fails": list(fails), "says": says} for name, (fails, says) in wrong.items()}
    path.write_text(json.dumps(data), encoding="utf-8")
