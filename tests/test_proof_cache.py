"""The proof cache re-runs exactly what changed: a kept result is reused only while every
file it depends on is the same, and only results of proofs that held are kept."""

from pathlib import Path

import pytest

from aiokata import catalog, proofs
from aiokata.proof_cache import KeptRuns, ProofCache, kept_key

KIT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A kit's shape: an engine file, two exercises with tests, solutions and stubs."""
    kit = tmp_path / "kit"
    for path, text in {
        "src/aiokata/plugin.py": "engine",
        "src/aiokata/templates/exercise/x.py": "template",
        "pyproject.toml": "config",
        "exercises/01_a/test_a.py": "tests of a",
        "exercises/02_b/test_b.py": "tests of b",
        "solutions/01_a/a.py": "solution a",
        "src/aiokata/stubs/01_a/a.py": "stub a",
        "proofs/wrong_a.py": "wrong a",
    }.items():
        (kit / path).parent.mkdir(parents=True, exist_ok=True)
        (kit / path).write_text(text)
    return kit


def key(kit: Path) -> str:
    return ProofCache(kit).key("01_a", kit / "proofs" / "wrong_a.py")


@pytest.mark.parametrize(
    "changed",
    [
        "proofs/wrong_a.py",
        "exercises/01_a/test_a.py",
        "solutions/01_a/a.py",
        "src/aiokata/stubs/01_a/a.py",
        "src/aiokata/plugin.py",
        "pyproject.toml",
    ],
)
def test_a_change_to_anything_a_proof_depends_on_gives_it_a_new_key(tiny: Path, changed: str):
    before = key(tiny)
    (tiny / changed).write_text("edited")
    assert key(tiny) != before, f"editing {changed} kept the old key"


@pytest.mark.parametrize(
    "changed", ["exercises/02_b/test_b.py", "src/aiokata/templates/exercise/x.py"]
)
def test_a_change_elsewhere_keeps_the_key(tiny: Path, changed: str):
    before = key(tiny)
    (tiny / changed).write_text("edited")
    assert key(tiny) == before, f"editing {changed} should not re-prove exercise 01"


def test_a_new_file_in_the_exercise_gives_a_new_key(tiny: Path):
    before = key(tiny)
    (tiny / "exercises/01_a/helper.py").write_text("new")
    assert key(tiny) != before


def test_a_damaged_or_empty_entry_is_run_again(tiny: Path):
    cache = ProofCache(tiny)
    cache.put("k", [{"status": "pass"}])
    assert cache.get("k") == [{"status": "pass"}]
    (cache.folder / "k.json").write_text("{not json")
    assert cache.get("k") is None
    (cache.folder / "k.json").write_text("[]")
    assert cache.get("k") is None
    assert cache.get("never-stored") is None


def test_run_all_reuses_what_held_and_reruns_what_did_not(tmp_path: Path, monkeypatch):
    """The second run of exercise 01 starts pytest only for the proof that did not hold."""
    name = "01_coroutines"
    mine = [p for p in proofs.load_proofs(KIT) if p.exercise == name]
    broken = next(p for p in mine if p.kind == "wrong")  # here it passes: its proof fails
    by_text = {p.file.read_bytes(): p for p in mine}
    tasks = [t.id for t in catalog.find(KIT, name).tasks]
    runs: list[str] = []

    def fake_run(kit, names, *, solutions=False, submission=None, **_):
        assert names == [name]
        if solutions:
            runs.append("solution")
            statuses = dict.fromkeys(tasks, "pass")
        elif submission.name == "stubs":
            runs.append("stub")
            statuses = dict.fromkeys(tasks, "fail")
        else:
            proof = by_text[next((submission / name).iterdir()).read_bytes()]
            runs.append(proof.id)
            wrong = proof.kind == "wrong" and proof is not broken
            statuses = {t: "fail" if wrong and t in proof.fails else "pass" for t in tasks}
        says = "is not written yet" if not solutions and submission.name == "stubs" else ""
        tests = [
            {
                "exercise": name,
                "task": t,
                "status": s,
                "nodeid": f"t{t}",
                "message": says or next((p.says for p in mine if p.id == runs[-1]), ""),
            }
            for t, s in statuses.items()
        ]
        return 0, tests, ""

    monkeypatch.setattr(proofs.runner, "run_exercises", fake_run)
    cache = ProofCache(KIT, folder=tmp_path / "cache")
    first = proofs.run_all(KIT, tmp_path / "one", only={name}, workers=1, cache=cache)
    assert sorted(runs) == sorted(["stub", "solution", *(p.id for p in mine)])
    runs.clear()
    second = proofs.run_all(KIT, tmp_path / "two", only={name}, workers=1, cache=cache)
    assert runs == [broken.id], "only the proof that did not hold should run again"
    assert second == first


# -- the suite's kept grading runs ---------------------------------------------------------
def run_key(kit: Path, extra: str = "--jobs 2") -> str:
    return kept_key(kit, ("src/aiokata", "exercises", "solutions/01_a/a.py"), extra)


@pytest.mark.parametrize(
    "changed",
    [
        "exercises/02_b/test_b.py",
        "solutions/01_a/a.py",
        "src/aiokata/plugin.py",
        "src/aiokata/stubs/01_a/a.py",
        "src/aiokata/templates/exercise/x.py",
        "pyproject.toml",
    ],
)
def test_a_kept_run_is_made_again_when_what_it_read_changes(tiny: Path, changed: str):
    before = run_key(tiny)
    (tiny / changed).write_text("edited")
    assert run_key(tiny) != before, f"editing {changed} kept the old run"


def test_a_kept_run_is_its_own_options_and_ignores_other_files(tiny: Path):
    before = run_key(tiny)
    assert run_key(tiny, "--jobs 1") != before
    (tiny / "proofs" / "wrong_a.py").write_text("edited")  # not named: not read by the run
    (tiny / "exercises" / "01_a" / "__pycache__").mkdir()
    (tiny / "exercises" / "01_a" / "__pycache__" / "a.pyc").write_text("bytecode")
    assert run_key(tiny) == before


def test_kept_runs_round_trip_and_a_damaged_one_reads_as_missing(tmp_path: Path):
    runs = KeptRuns(tmp_path / "kept")
    assert runs.get("k") is None
    runs.put("k", {"report": {"submissions": [1, 2]}, "leftovers": []})
    assert runs.get("k") == {"report": {"submissions": [1, 2]}, "leftovers": []}
    assert [p.name for p in (tmp_path / "kept").iterdir()] == ["k.json"]  # no scratch left
    (tmp_path / "kept" / "k.json").write_text('{"report": ')  # cut short
    assert runs.get("k") is None
    runs.put("k", None)  # how the suite drops a run that failed
    assert runs.get("k") is None
