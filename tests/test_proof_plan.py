"""A wrong answer's proof run leaves out only tests that cannot change the proof's verdict."""

from pathlib import Path

import pytest

from aiokata import proof_plan, proofs, runner

KIT = Path(__file__).resolve().parents[1]


def plan(fails: tuple[int, ...], says: str) -> proof_plan.Plan:
    return proof_plan.Plan({"01_x": proof_plan.Expected(frozenset(fails), says)})


def test_a_task_is_settled_once_it_failed_as_planned_and_a_failure_said_so():
    p = plan((2, 3), "await it")
    assert not p.settled("01_x", 2)
    p.record("01_x", 2, "fail", "Something else went wrong")
    assert not p.settled("01_x", 2)  # its other tests may still say it
    p.record("01_x", 3, "timeout", "You should AWAIT IT here")  # as check_proof: any case
    assert p.settled("01_x", 2) and p.settled("01_x", 3)


def test_tasks_meant_to_pass_and_other_exercises_always_run():
    p = plan((2,), "")
    p.record("01_x", 2, "fail", "x")
    p.record("01_x", 1, "error", "x")  # a task the answer should pass: every test must run
    p.record("02_y", 2, "fail", "x")
    assert p.settled("01_x", 2)
    assert not p.settled("01_x", 1)
    assert not p.settled("02_y", 2)


def test_a_pass_or_a_skip_counts_as_check_proof_counts_it():
    p = plan((2,), "")
    p.record("01_x", 2, "pass", "")
    assert not p.settled("01_x", 2)
    p.record("01_x", 2, "skip", "")
    assert p.settled("01_x", 2)  # failing_tasks() counts anything but a pass


def test_a_broken_plan_file_is_a_usage_error(tmp_path: Path):
    path = tmp_path / "plan.json"
    path.write_text('{"01_x": {"fails": [1]}}')
    with pytest.raises(pytest.UsageError, match="not a proof plan"):
        proof_plan.Plan.load(str(path))
    proof_plan.write(path, {"01_x": ((1, 4), "says this")})
    loaded = proof_plan.Plan.load(str(path))
    assert loaded.entries["01_x"].fails == {1, 4}
    assert loaded.entries["01_x"].says == "says this"


def test_run_all_gives_only_wrong_answers_a_plan(tmp_path: Path, monkeypatch):
    name = "01_coroutines"
    calls = []

    def run_exercises(kit, names, *, solutions=False, submission=None, extra=()):
        calls.append((submission, extra))
        return 0, [], ""

    monkeypatch.setattr(runner, "run_exercises", run_exercises)
    proofs.run_all(KIT, tmp_path, only={name}, workers=1)
    planned = [extra for submission, extra in calls if extra]
    every = [p for p in proofs.load_proofs(KIT) if p.exercise == name]
    assert len(planned) == len(every)  # one run a proof; the stub and solution have none
    assert all(len(extra) == 1 and extra[0].startswith("--proof-plan=") for extra in planned)
    by_slot = {f"slot{k}": slot for k, slot in enumerate(proofs.slots(every))}
    for label, slot in by_slot.items():
        loaded = proof_plan.Plan.load(str(tmp_path / f"{label}-plan.json"))
        proof = slot[name]
        if proof.kind == "wrong":
            assert loaded.entries[name].fails == set(proof.fails)
            assert loaded.entries[name].says == proof.says
        else:
            assert loaded.entries == {}


def test_a_planned_run_reaches_the_verdict_of_a_full_run(tmp_path: Path):
    """A real wrong answer (a greet_user() that returns a coroutine fails tasks 2 and 4)."""
    name = "01_coroutines"
    wrong = next(
        p
        for p in proofs.load_proofs(KIT)
        if p.exercise == name and p.kind == "wrong" and len(p.fails) == 2
    )
    proofs.build_submission(tmp_path / "sub", KIT, {name: wrong})
    path = tmp_path / "plan.json"
    proof_plan.write(path, {name: (wrong.fails, wrong.says)})
    _, full, _ = runner.run_exercises(KIT, [name], submission=tmp_path / "sub")
    _, part, _ = runner.run_exercises(
        KIT, [name], submission=tmp_path / "sub", extra=(f"--proof-plan={path}",)
    )
    assert proofs.check_proof(wrong, full).held, proofs.check_proof(wrong, full).detail
    assert proofs.check_proof(wrong, part).held, proofs.check_proof(wrong, part).detail
    assert proofs.failing_tasks(part) == proofs.failing_tasks(full)
    ran = {t["nodeid"]: t for t in part}
    assert set(ran) < {t["nodeid"] for t in full}  # some were left out
    left_out = [t for t in full if t["nodeid"] not in ran]
    assert all(t["task"] in wrong.fails for t in left_out)
    for test in full:  # every task the answer passes ran in full, with the same results
        if test["task"] not in wrong.fails:
            assert ran[test["nodeid"]]["status"] == test["status"] == "pass"
