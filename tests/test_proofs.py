"""Every exercise proves its tests right: the stub fails, the solution passes, each wrong
solution in tests/proofs fails exactly the tasks it gets wrong, each other right one passes.

Proofs that held are kept in KIT/.aiokata/proof-cache and run again only when something they
depend on changes; `pytest tests --fresh-proofs` runs every one (a clean checkout has none)."""

from pathlib import Path

import pytest

from aiokata import catalog, proofs
from aiokata.proof_cache import ProofCache

KIT = Path(__file__).resolve().parents[1]
EXERCISES = [e.name for e in catalog.load_catalog(KIT)]
PROOFS = proofs.load_proofs(KIT)
WRONG = [p for p in PROOFS if p.kind == "wrong"]
RIGHT = [p for p in PROOFS if p.kind == "right"]


@pytest.fixture(scope="session")
def results(request: pytest.FixtureRequest, tmp_path_factory) -> dict[str, list[dict]]:
    wanted = {name for item in request.session.items for name in EXERCISES if name in item.nodeid}
    cache = None if request.config.getoption("fresh_proofs") else ProofCache(KIT)
    return proofs.run_all(KIT, tmp_path_factory.mktemp("proofs"), only=wanted or None, cache=cache)


@pytest.mark.parametrize("name", EXERCISES)
def test_every_exercise_has_enough_proofs(name: str) -> None:
    mine = [p for p in PROOFS if p.exercise == name]
    assert sum(p.kind == "wrong" for p in mine) >= 3, f"{name}: needs at least 3 wrong solutions"
    assert sum(p.kind == "right" for p in mine) >= 1, f"{name}: needs another right solution"
    exercise = catalog.find(KIT, name)
    for proof in mine:
        assert proof.file.is_file(), f"{proof.id}: missing file"
        for task in proof.fails:
            assert exercise.task(task), f"{proof.id}: no task {task} in {name}"
        if proof.kind == "wrong":
            assert proof.fails and proof.says, f"{proof.id}: say which tasks fail and why"


@pytest.mark.parametrize("name", EXERCISES)
def test_stub_fails_every_test_saying_what_to_write(name: str, results) -> None:
    verdict = proofs.check_stub(name, results.get(f"stub/{name}"))
    assert verdict.held, f"{name}: {verdict.detail}"


@pytest.mark.parametrize("name", EXERCISES)
def test_solution_passes_every_test(name: str, results) -> None:
    verdict = proofs.check_solution(name, results.get(f"solution/{name}"))
    assert verdict.held, f"{name}: {verdict.detail}"


@pytest.mark.parametrize("proof", WRONG, ids=[p.id for p in WRONG])
def test_wrong_solution_fails_the_task_it_gets_wrong(proof: proofs.Proof, results) -> None:
    verdict = proofs.check_proof(proof, results.get(proof.id))
    assert verdict.held, f"{proof.id} ({proof.why}): {verdict.detail}"


@pytest.mark.parametrize("proof", RIGHT, ids=[p.id for p in RIGHT])
def test_other_right_solution_passes(proof: proofs.Proof, results) -> None:
    verdict = proofs.check_proof(proof, results.get(proof.id))
    assert verdict.held, f"{proof.id} ({proof.why}): {verdict.detail}"
