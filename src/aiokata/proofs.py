"""The proofs behind every exercise: its stub fails, its solution passes, a catalogue of
realistic wrong solutions fails exactly the tasks they get wrong (saying why), and other
correct solutions pass.

The catalogue lives in `tests/proofs/NN_slug/proofs.toml`, beside the solution files it names.
To stay fast, proofs are run in "slots": slot k holds the k-th proof of every exercise as one
submission, so one pytest process checks one proof of each exercise at once; a wrong answer's
run leaves out the tests that can no longer change its verdict (proof_plan.py); and the kit's
suite keeps proofs that held in a cache (proof_cache.py), so it re-runs only what changed.
"""

from __future__ import annotations

import os
import shutil
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from aiokata import catalog, proof_plan, runner
from aiokata.grading.untrusted import first_line
from aiokata.proof_cache import ProofCache


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
                as_kind, why = kind, entry["why"]
                if kind == "wrong" and _right_from(entry.get("before")):
                    # A mistake only on older Pythons: from `before` on it must pass.
                    as_kind = "right"
                    why = f"{why} (a mistake only before Python {entry['before']})"
                found.append(
                    Proof(
                        exercise=exercise.name,
                        file=path.parent / entry["file"],
                        kind=as_kind,
                        why=why,
                        fails=tuple(entry.get("fails", ())),
                        says=entry.get("says", ""),
                        kinds=tuple(entry.get("kinds", ())),
                    )
                )
    return found


def _right_from(before: str | None) -> bool:
    """Whether this Python is `before` ("3.12") or newer."""
    if before is None:
        return False
    major, minor = (int(part) for part in before.split("."))
    return sys.version_info[:2] >= (major, minor)


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
        try:
            shutil.copyfile(proof.file, target)
        except FileNotFoundError:  # removed or renamed since the catalogue was read
            continue


def run_all(
    kit: Path,
    scratch: Path,
    only: set[str] | None = None,
    workers: int | None = None,
    cache: ProofCache | None = None,
) -> dict[str, list[dict]]:
    """Results keyed by "stub/NN_slug", "solution/NN_slug" and each proof's id, for every
    exercise (or those named in `only`). With a cache, a proof whose inputs are unchanged since
    it last held is not run again."""
    names = [e.name for e in catalog.load_catalog(kit) if only is None or e.name in only]
    stubs = Path(__file__).resolve().parent / "stubs"
    candidates: dict[str, tuple[str, Path]] = {}  # result key -> (exercise, file proven)
    for name in names:
        exercise = catalog.find(kit, name)
        assert exercise is not None
        candidates[f"stub/{name}"] = (name, stubs / name / exercise.module_file)
        candidates[f"solution/{name}"] = (name, kit / "solutions" / name / exercise.module_file)
    # A file named in proofs.toml but missing is judged by check_proof, not run.
    wanted = [p for p in load_proofs(kit) if p.exercise in names and p.file.is_file()]
    candidates.update({p.id: (p.exercise, p.file) for p in wanted})
    keys: dict[str, str] = {}
    results: dict[str, list[dict]] = {}
    if cache:
        keys = {label: cache.key(*found) for label, found in candidates.items()}
        kept = {label: cache.get(key) for label, key in keys.items()}
        results = {label: tests for label, tests in kept.items() if tests is not None}
    stub_names = [n for n in names if f"stub/{n}" not in results]
    solution_names = [n for n in names if f"solution/{n}" not in results]
    groups = slots([p for p in wanted if p.id not in results])
    jobs = [("stub", {}), ("solution", {})] + [(f"slot{k}", s) for k, s in enumerate(groups)]

    def run(job: tuple[str, dict[str, Proof]]) -> tuple[str, dict[str, Proof], list[dict]]:
        label, slot = job
        if label == "stub":  # the kit's pristine copies: a learner's edits do not count here
            if not stub_names:
                return label, slot, []
            _, tests, _ = runner.run_exercises(kit, stub_names, submission=stubs)
        elif label == "solution":
            if not solution_names:
                return label, slot, []
            _, tests, _ = runner.run_exercises(kit, solution_names, solutions=True)
        else:
            folder = scratch / label
            build_submission(folder, kit, slot)
            plan = scratch / f"{label}-plan.json"
            proof_plan.write(
                plan, {n: (p.fails, p.says) for n, p in slot.items() if p.kind == "wrong"}
            )
            _, tests, _ = runner.run_exercises(
                kit, sorted(slot), submission=folder, extra=(f"--proof-plan={plan}",)
            )
        return label, slot, tests

    ran: dict[str, list[dict]] = {}
    # Twice the cores: runs of real-time exercises (subprocesses) spend much of their time waiting.
    with ThreadPoolExecutor(max_workers=workers or 2 * (os.cpu_count() or 1)) as pool:
        for label, slot, tests in pool.map(run, jobs):
            for test in tests:
                if label in ("stub", "solution"):
                    key = f"{label}/{test['exercise']}"
                else:
                    key = slot[test["exercise"]].id
                ran.setdefault(key, []).append(test)
    results.update(ran)
    if cache:
        by_id = {p.id: p for p in wanted}
        for label, tests in ran.items():
            if _held(label, tests, by_id):
                cache.put(keys[label], tests)
    return results


def _held(label: str, tests: list[dict], by_id: dict[str, Proof]) -> bool:
    kind, _, name = label.partition("/")
    if label in by_id:
        return check_proof(by_id[label], tests).held
    if kind == "stub":
        return check_stub(name, tests).held
    return kind == "solution" and check_solution(name, tests).held


def failing_tasks(tests: list[dict]) -> set[int]:
    return {t["task"] for t in tests if t["status"] != "pass"}


@dataclass(frozen=True)
class Verdict:
    """Whether one proof held: the stub's, the solution's, or a catalogued answer's."""

    exercise: str
    name: str  # "stub", "solution", or the proof file's stem
    kind: str  # "stub", "solution", "wrong" or "right"
    held: bool
    detail: str  # what was expected and what happened, or (held) what the proof showed
    why: str = ""


def _summary(tests: list[dict]) -> str:
    return "\n".join(f"  task {t['task']} {t['status']}: {t['nodeid']}" for t in tests)


def check_stub(name: str, tests: list[dict] | None) -> Verdict:
    if not tests:
        return Verdict(name, "stub", "stub", False, "the stub run reported no tests")
    for test in tests:
        if test["status"] != "fail":
            return Verdict(name, "stub", "stub", False, f"{test['nodeid']}: got {test['status']}")
        if "is not written yet" not in test["message"]:
            return Verdict(
                name,
                "stub",
                "stub",
                False,
                f"{test['nodeid']}: the stub's failure should say what to write, got:\n"
                f"{test['message']}",
            )
    return Verdict(name, "stub", "stub", True, f"all {len(tests)} tests fail, saying what to write")


def check_solution(name: str, tests: list[dict] | None) -> Verdict:
    if not tests:
        return Verdict(name, "solution", "solution", False, "the solution run reported no tests")
    failed = [t for t in tests if t["status"] != "pass"]
    if failed:
        detail = "\n\n".join(f"{t['nodeid']}: {t['message']}" for t in failed)
        return Verdict(name, "solution", "solution", False, detail)
    return Verdict(name, "solution", "solution", True, f"all {len(tests)} tests pass")


def check_proof(proof: Proof, tests: list[dict] | None) -> Verdict:
    name = proof.file.stem
    if not proof.file.is_file():
        detail = f"proofs.toml names {proof.file.name}, and there is no such file beside it"
        return Verdict(proof.exercise, name, proof.kind, False, detail, proof.why)
    if not tests:
        return Verdict(proof.exercise, name, proof.kind, False, "no results", proof.why)
    if proof.kind == "right":
        failed = [t for t in tests if t["status"] != "pass"]
        if failed:
            detail = "\n\n".join(f"{t['nodeid']}: {t['message']}" for t in failed)
            return Verdict(proof.exercise, name, "right", False, detail, proof.why)
        return Verdict(proof.exercise, name, "right", True, "passes", proof.why)
    failing = failing_tasks(tests)
    if failing != set(proof.fails):
        return Verdict(
            proof.exercise,
            name,
            "wrong",
            False,
            f"should fail tasks {sorted(proof.fails)} and pass the rest; failing: "
            f"{sorted(failing)}\n{_summary(tests)}",
            proof.why,
        )
    messages = [t["message"] for t in tests if t["status"] != "pass"]
    saying = [m for m in messages if proof_plan.says_it(proof.says, m)]
    if not saying:
        return Verdict(
            proof.exercise,
            name,
            "wrong",
            False,
            f"no failure says {proof.says!r}; they said:\n" + "\n---\n".join(messages),
            proof.why,
        )
    tasks = ", ".join(str(t) for t in sorted(failing))
    return Verdict(
        proof.exercise,
        name,
        "wrong",
        True,
        f"fails task {tasks}: {first_line(saying[0])}",
        proof.why,
    )


def verdicts(
    kit: Path, results: dict[str, list[dict]], only: set[str] | None = None
) -> list[Verdict]:
    """Every proof of the exercises in `only` (or all), judged from `run_all`'s results."""
    found = []
    names = [e.name for e in catalog.load_catalog(kit) if only is None or e.name in only]
    for name in names:
        found.append(check_stub(name, results.get(f"stub/{name}")))
        found.append(check_solution(name, results.get(f"solution/{name}")))
        for proof in load_proofs(kit):
            if proof.exercise == name:
                found.append(check_proof(proof, results.get(proof.id)))
    return found
