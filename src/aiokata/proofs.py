"""The proofs behind every exercise: its stub fails, its solution passes, a catalogue of
realistic wrong solutions fails exactly the tasks they get wrong (saying why), and other
correct solutions pass.

The catalogue lives in `tests/proofs/NN_slug/proofs.toml`, beside the solution files it names.
To stay fast, proofs are run in "slots": slot k holds the k-th proof of every exercise as one
submission, so one pytest process checks one proof of each exercise at once.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from aiokata import catalog, runner


@dataclass(frozen=True)
class Proof:
    exercise: str  # folder name, e.g. 03_tasks
    file: Path
    kind: str  # "wrong" or "right"
    why: str  # the mistake, or how this correct solution differs
    fails: tuple[int, ...] = ()  # wrong: exactly the tasks that must fail
    says: str = ""  # wrong: a failing test's message must contain this
    kinds: tuple[str, ...] = ()  # wrong: the checklist kinds (catalog.CHECKLIST) it is a case of

    @property
    def id(self) -> str:
        return f"{self.exercise}/{self.file.stem}"


def load_proofs(kit: Path) -> list[Proof]:
    found = []
    for exercise in catalog.load_catalog(kit):
        path = kit / "tests" / "proofs" / exercise.name / "proofs.toml"
        if not path.is_file():
            continue
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for kind in ("wrong", "right"):
            for entry in data.get(kind, []):
                found.append(
                    Proof(
                        exercise=exercise.name,
                        file=path.parent / entry["file"],
                        kind=kind,
                        why=entry["why"],
                        fails=tuple(entry.get("fails", ())),
                        says=entry.get("says", ""),
                        kinds=tuple(entry.get("kinds", ())),
                    )
                )
    return found


def slots(proofs: list[Proof]) -> list[dict[str, Proof]]:
    """Group proofs so that each slot holds at most one proof per exercise."""
    by_exercise: dict[str, list[Proof]] = {}
    for proof in proofs:
        by_exercise.setdefault(proof.exercise, []).append(proof)
    depth = max((len(p) for p in by_exercise.values()), default=0)
    return [{name: ps[k] for name, ps in by_exercise.items() if k < len(ps)} for k in range(depth)]


def build_submission(folder: Path, kit: Path, slot: dict[str, Proof]) -> None:
    for name, proof in slot.items():
        exercise = catalog.find(kit, name)
        assert exercise is not None
        target = folder / name / exercise.module_file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(proof.file, target)


def run_all(
    kit: Path, scratch: Path, only: set[str] | None = None, workers: int | None = None
) -> dict[str, list[dict]]:
    """Results keyed by "stub/NN_slug", "solution/NN_slug" and each proof's id, for every
    exercise (or those named in `only`)."""
    names = [e.name for e in catalog.load_catalog(kit) if only is None or e.name in only]
    groups = slots([p for p in load_proofs(kit) if p.exercise in names])
    jobs = [("stub", {}), ("solution", {})] + [(f"slot{k}", s) for k, s in enumerate(groups)]

    def run(job: tuple[str, dict[str, Proof]]) -> tuple[str, dict[str, Proof], list[dict]]:
        label, slot = job
        if label == "stub":  # the kit's pristine copies: a learner's edits do not count here
            stubs = Path(__file__).resolve().parent / "stubs"
            _, tests, _ = runner.run_exercises(kit, names, submission=stubs)
        elif label == "solution":
            _, tests, _ = runner.run_exercises(kit, names, solutions=True)
        else:
            folder = scratch / label
            build_submission(folder, kit, slot)
            _, tests, _ = runner.run_exercises(kit, sorted(slot), submission=folder)
        return label, slot, tests

    results: dict[str, list[dict]] = {}
    # Twice the cores: runs of real-time exercises (subprocesses) spend much of their time waiting.
    with ThreadPoolExecutor(max_workers=workers or 2 * (os.cpu_count() or 1)) as pool:
        for label, slot, tests in pool.map(run, jobs):
            for test in tests:
                if label in ("stub", "solution"):
                    key = f"{label}/{test['exercise']}"
                else:
                    key = slot[test["exercise"]].id
                results.setdefault(key, []).append(test)
    return results


def failing_tasks(tests: list[dict]) -> set[int]:
    return {t["task"] for t in tests if t["status"] != "pass"}
