"""Courses without GitHub Classroom (issue 12): the GitHub Actions workflow of `aiokata bundle
actions`, Classroom 50's autograder.py, and `aiokata grade --format markdown`, which both show.

The workflow is run here as far as it can be without GitHub: its YAML is parsed (by a strict
parser for the subset it uses, and by PyYAML too when some Python on the machine has it), and
its `run:` steps are run by bash, in order, in a starter repository holding a student's work,
with GITHUB_OUTPUT and GITHUB_STEP_SUMMARY pointed at files. The `uses:` steps (checkout,
setup-python, upload-artifact) are skipped; `sudo`, `pip install` and optionally `bwrap` are
stand-ins that only record what they were asked. autograder.py is run the way Classroom 50's
runner runs it (cwd: the student's checkout; the runner's environment variables), and its
result.json is checked against the contract in Classroom 50's wiki (Advanced-Autograding.md,
"The result.json contract") and the checks its runner applies
(cli/gh-teacher/skeleton/dotgithub/scripts/runner.py, `validate_result`).

Only exercises 01 and 02 are graded; each grading run takes two or three seconds.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest

import aiokata
from aiokata import catalog
from aiokata.cli import main as aiokata_cli
from aiokata.grading import bundle, formats, model, untrusted
from aiokata.grading.model import ExerciseGrade, SubmissionGrade, TaskGrade

KIT = Path(__file__).resolve().parents[1]
EXERCISES = catalog.load_catalog(KIT)
FIRST, SECOND = EXERCISES[0], EXERCISES[1]
GRADED = (FIRST.name, SECOND.name)
WORKFLOW = Path(".github/workflows/aiokata.yml")
TEMPLATE = KIT / "autograders" / "github-actions" / "aiokata.yml"
ALLOWED_ACTIONS = {"actions/checkout@v5", "actions/setup-python@v6", "actions/upload-artifact@v4"}


def solution(exercise: catalog.Exercise) -> Path:
    return KIT / "solutions" / exercise.name / exercise.module_file


def hand_in(repo: Path, exercise: catalog.Exercise, text: str | None = None) -> None:
    """Put the reference solution (or `text`) where the student's work goes."""
    target = repo / "exercises" / exercise.name / exercise.module_file
    if text is None:
        shutil.copyfile(solution(exercise), target)
    else:
        target.write_text(text, encoding="utf-8")


# --- a strict parser for the YAML the workflow uses -----------------------------------------


class Yaml:
    """Block mappings and sequences, `|` literal blocks, plain, single- and double-quoted
    scalars, comments. Anything else (flow collections, anchors, tags, folded blocks, tabs) is
    an error, so the workflow cannot drift into YAML this parser would misread."""

    def __init__(self, text: str):
        if "\t" in text:
            raise ValueError("a tab in the YAML")
        self.lines = text.splitlines()
        self.i = 0

    @classmethod
    def load(cls, text: str):
        parser = cls(text)
        parser.skip()
        value = parser.block(0)
        parser.skip()
        if parser.i != len(parser.lines):
            raise ValueError(f"line {parser.i + 1}: not part of the document")
        return value

    @staticmethod
    def indent(line: str) -> int:
        return len(line) - len(line.lstrip(" "))

    def skip(self) -> None:
        while self.i < len(self.lines):
            text = self.lines[self.i].strip()
            if text and not text.startswith("#"):
                return
            self.i += 1

    def block(self, indent: int):
        line = self.lines[self.i]
        if self.indent(line) != indent:
            raise ValueError(f"line {self.i + 1}: indented {self.indent(line)}, not {indent}")
        if line.strip() == "-" or line.strip().startswith("- "):
            return self.sequence(indent)
        return self.mapping(indent, {})

    def mapping(self, indent: int, result: dict) -> dict:
        while True:
            self.skip()
            if self.i >= len(self.lines) or self.indent(self.lines[self.i]) < indent:
                return result
            line = self.lines[self.i]
            if self.indent(line) > indent or line.strip().startswith("-"):
                raise ValueError(f"line {self.i + 1}: out of place")
            self.entry(result, line.strip(), indent)

    def entry(self, result: dict, content: str, indent: int) -> None:
        key, sep, rest = content.partition(":")
        if not sep or (rest and not rest.startswith(" ")) or not re.fullmatch(r"[\w-]+", key):
            raise ValueError(f"line {self.i + 1}: not a `key: value` line")
        if key in result:
            raise ValueError(f"line {self.i + 1}: {key} twice")
        rest = self.uncomment(rest.strip())
        self.i += 1
        if rest == "|":
            result[key] = self.literal(indent)
            return
        if rest:
            result[key] = self.scalar(rest)
            return
        self.skip()
        deeper = self.i < len(self.lines) and self.indent(self.lines[self.i]) > indent
        result[key] = self.block(self.indent(self.lines[self.i])) if deeper else None

    def sequence(self, indent: int) -> list:
        items = []
        while True:
            self.skip()
            if self.i >= len(self.lines):
                return items
            line = self.lines[self.i]
            content = line.strip()
            if self.indent(line) != indent or not (content == "-" or content.startswith("- ")):
                return items
            content = content[1:].strip()
            key, sep, rest = content.partition(":")
            if sep and re.fullmatch(r"[\w-]+", key) and (not rest or rest.startswith(" ")):
                item: dict = {}
                self.entry(item, content, indent + 2)
                items.append(self.mapping(indent + 2, item))
            else:
                self.i += 1
                items.append(self.scalar(self.uncomment(content)))

    def literal(self, indent: int) -> str:
        body: list[str] = []
        inner = None
        while self.i < len(self.lines):
            line = self.lines[self.i]
            if line.strip():
                if self.indent(line) <= indent:
                    break
                inner = self.indent(line) if inner is None else inner
                if self.indent(line) < inner:
                    raise ValueError(f"line {self.i + 1}: less indented than its block")
                line = line[inner:]
            body.append(line.strip() and line)
            self.i += 1
        while body and not body[-1]:
            body.pop()
        return "\n".join(body) + "\n" if body else ""

    def uncomment(self, text: str) -> str:
        if text[:1] in ("'", '"'):
            end = self.closing_quote(text)
            rest = text[end + 1 :]
            if rest.strip() and not rest.lstrip().startswith("#"):
                raise ValueError(f"line {self.i + 1}: text after a quoted value")
            return text[: end + 1]
        at = text.find(" #")
        return text if at < 0 else text[:at].rstrip()

    def closing_quote(self, text: str) -> int:
        quote, at = text[0], 1
        while at < len(text):
            if quote == '"' and text[at] == "\\":
                at += 2
                continue
            if text[at] == quote:
                if quote == "'" and text[at + 1 : at + 2] == "'":
                    at += 2
                    continue
                return at
            at += 1
        raise ValueError(f"line {self.i + 1}: an unclosed quote")

    def scalar(self, text: str):
        if text.startswith('"'):
            return json.loads(text)  # the workflow's double-quoted values use JSON's escapes
        if text.startswith("'"):
            return text[1:-1].replace("''", "'")
        if text[0] in "[]{}&*!|>%@`,?":
            raise ValueError(f"line {self.i}: unsupported YAML: {text}")
        if text in ("true", "false"):
            return text == "true"
        if text in ("null", "~"):
            return None
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        return text


def pyyaml(text: str):
    """The same document as PyYAML reads it (YAML 1.1: the key `on` becomes "on" again), from
    this Python or any python3 on the machine that has PyYAML; None when none has it."""
    code = "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))"
    for python in dict.fromkeys([sys.executable, "/usr/bin/python3", shutil.which("python3")]):
        if not python or not Path(python).exists():
            continue
        done = subprocess.run(
            [python, "-c", code], input=text, capture_output=True, text=True, timeout=60
        )
        if done.returncode == 0:
            data = json.loads(done.stdout)
            return {("on" if key == "true" else key): value for key, value in data.items()}
    return None


# --- the workflow, run as bash -------------------------------------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class Step:
    name: str
    id: str | None
    skipped: str = ""  # why it did not run: "uses: ...", "an earlier step failed"
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Run:
    steps: list[Step]
    summary: str
    runner_temp: Path
    fakes_log: str
    outputs: dict[str, str]  # the job's

    def step(self, name: str) -> Step:
        (found,) = [s for s in self.steps if s.name == name]
        return found

    @property
    def failed(self) -> bool:
        return any(s.returncode not in (None, 0) for s in self.steps)

    def grades(self) -> dict:
        (graded,) = json.loads((self.runner_temp / "aiokata" / "grades.json").read_text())[
            "submissions"
        ]
        return graded


def read_outputs(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT's `key=value` lines and `key<<DELIMITER` blocks."""
    found: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    while lines:
        line = lines.pop(0)
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            body = []
            while lines[0] != delimiter:
                body.append(lines.pop(0))
            lines.pop(0)
            found[key] = "\n".join(body)
        elif line:
            key, _, value = line.partition("=")
            found[key] = value
    return found


def fakes(folder: Path, log: Path, *, bwrap_works: bool) -> Path:
    """Stand-ins on PATH: sudo (refuses), pip install (records), aiokata (this checkout's)."""
    folder.mkdir()
    scripts = {
        "sudo": f'echo "sudo $*" >>{shlex.quote(str(log))}\nexit 1\n',
        "python": (
            'case " $* " in *" -m pip "*)\n'
            f'  echo "python $* (cwd $PWD)" >>{shlex.quote(str(log))}\n  exit 0 ;;\nesac\n'
            f'exec {shlex.quote(sys.executable)} "$@"\n'
        ),
        # -I as for the console script pip makes: the repository is not on its import path.
        "aiokata": f'exec {shlex.quote(sys.executable)} -I -m aiokata "$@"\n',
    }
    if not bwrap_works:
        scripts["bwrap"] = f'echo "bwrap $*" >>{shlex.quote(str(log))}\nexit 1\n'
    for name, body in scripts.items():
        (folder / name).write_text("#!/bin/sh\n" + body)
        (folder / name).chmod(0o755)
    return folder


def resolve(value, outputs: dict[str, dict[str, str]], runner_temp: Path, variables: dict):
    """`value` with its ${{ }} expressions worked out, for the few this workflow uses."""
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        expression = match.group(1)
        if expression == "vars.AIOKATA_KIT_REPO != '' && '.aiokata-kit' || '.'":
            return ".aiokata-kit" if variables.get("AIOKATA_KIT_REPO") else "."
        if expression == "runner.temp":
            return str(runner_temp)
        if expression == "github.ref":
            return "refs/heads/main"
        if found := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression):
            return outputs.get(found.group(1), {}).get(found.group(2), "")
        if found := re.fullmatch(r"vars\.(\w+)", expression):
            return variables.get(found.group(1), "")
        raise AssertionError(
            f"the workflow uses an expression this test cannot stand in for: {expression}"
        )

    return EXPRESSION.sub(one, value)


def load_workflow(repo: Path) -> dict:
    return Yaml.load((repo / WORKFLOW).read_text(encoding="utf-8"))


def run_workflow(
    repo: Path,
    temp: Path,
    *,
    bwrap_works: bool = True,
    runner_temp: Path | None = None,
    variables: dict | None = None,
) -> Run:
    """Run the `run:` steps of the repository's workflow in order, as Actions would."""
    workflow = load_workflow(repo)
    (job,) = workflow["jobs"].values()
    variables = variables or {}
    temp.mkdir(parents=True, exist_ok=True)
    runner_temp = runner_temp or temp / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    log, summary = temp / "fakes.log", temp / "summary.md"
    log.write_text("")
    summary.write_text("")
    bin_folder = fakes(temp / "bin", log, bwrap_works=bwrap_works)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AIOKATA_"))}
    base |= {
        "PATH": f"{bin_folder}{os.pathsep}{os.environ['PATH']}",
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_WORKSPACE": str(repo),
        "GITHUB_STEP_SUMMARY": str(summary),
        "CI": "true",
    }
    outputs: dict[str, dict[str, str]] = {}
    job_env = {k: resolve(v, outputs, runner_temp, variables) for k, v in job["env"].items()}
    assert job.get("defaults", {}).get("run", {}).get("shell") == "bash"
    steps, failed = [], False
    for number, raw in enumerate(job["steps"]):
        step = Step(name=raw["name"], id=raw.get("id"))
        steps.append(step)
        if "uses" in raw:
            step.skipped = f"uses: {raw['uses']}"
            continue
        if failed and raw.get("if") != "always()":
            step.skipped = "an earlier step failed"
            continue
        env = {**base, **job_env}
        for key, value in raw.get("env", {}).items():
            env[key] = resolve(value, outputs, runner_temp, variables)
        output = temp / f"output-{number}.txt"
        output.write_text("")
        env["GITHUB_OUTPUT"] = str(output)
        script = temp / f"step-{number}.sh"
        script.write_text(raw["run"])
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        step.returncode, step.stdout, step.stderr = done.returncode, done.stdout, done.stderr
        step.outputs = read_outputs(output)
        if step.id:
            outputs[step.id] = step.outputs
        failed = failed or done.returncode != 0
    job_outputs = {
        k: resolve(v, outputs, runner_temp, variables) for k, v in job["outputs"].items()
    }
    return Run(
        steps, summary.read_text(encoding="utf-8"), runner_temp, log.read_text(), job_outputs
    )


# --- reading the Markdown back ---------------------------------------------------------------


def unescape(cell: str) -> str:
    return re.sub(r"\\(.)", r"\1", cell.replace(formats.WORD_JOINER, "")).strip()


def markdown_tables(text: str) -> dict[int, dict]:
    """Exercise number -> its heading's score and its task rows, from --format markdown."""
    found: dict[int, dict] = {}
    current = None
    for line in text.splitlines():
        if heading := re.fullmatch(r"### (\d+) (.*): (\d+)/(\d+)", line):
            current = found[int(heading.group(1))] = {
                "title": unescape(heading.group(2)),
                "score": (int(heading.group(3)), int(heading.group(4))),
                "rows": [],
            }
        elif line.startswith("| ") and current is not None and not line.startswith("| task |"):
            cells = [unescape(c) for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            task_id, _, title = cells[0].partition(". ")
            score, _, max_score = cells[1].partition("/")
            current["rows"].append(
                {
                    "id": int(task_id),
                    "title": title,
                    "points": (int(score), int(max_score)),
                    "result": cells[2],
                    "why": cells[3],
                }
            )
    return found


def expected_why(exercise: dict, task: dict) -> str:
    """What the table should say for a task, worked out from the JSON grade alone."""
    if task["status"] == "pass":
        return ""
    if not task["tests"] and exercise["notes"]:
        return "not handed in"
    test = next(t for t in task["tests"] if t["status"] != "pass")
    why = untrusted.headline(test["message"]) or test["status"]
    return " ".join(f"{test['name']}: {why}".split())


def assert_summary_matches(text: str, graded: dict) -> None:
    tables = markdown_tables(text)
    assert f"## aiokata: {graded['score']}/{graded['max_score']} points" in text
    assert sorted(tables) == [e["number"] for e in graded["exercises"]]
    for exercise in graded["exercises"]:
        table = tables[exercise["number"]]
        assert table["title"] == exercise["title"]
        assert table["score"] == (exercise["score"], exercise["max_score"])
        assert [row["id"] for row in table["rows"]] == [t["id"] for t in exercise["tasks"]]
        for row, task in zip(table["rows"], exercise["tasks"], strict=True):
            assert row["title"] == task["title"]
            assert row["points"] == (task["score"], task["max_score"])
            assert row["result"].endswith(task["status"])
            assert row["result"].startswith("✅") == (task["status"] == "pass")
            why = expected_why(exercise, task)
            if len(why) <= formats.MARKDOWN_MESSAGE:
                assert row["why"] == why
            else:
                assert row["why"] == why[: formats.MARKDOWN_MESSAGE - 1].rstrip() + "…"


# --- the workflow: what it is made of --------------------------------------------------------


@pytest.fixture(scope="module")
def starter(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("actions") / "starter"
    bundle.build_starter(KIT, out, GRADED)
    return out


def student_repo(starter: Path, folder: Path, *solved: catalog.Exercise) -> Path:
    shutil.copytree(starter, folder)
    for exercise in solved:
        hand_in(folder, exercise)
    return folder


def run_scripts(workflow: dict) -> list[str]:
    (job,) = workflow["jobs"].values()
    return [step["run"] for step in job["steps"] if "run" in step]


def test_the_workflow_parses_the_same_with_pyyaml_and_is_what_the_bundle_wrote(starter):
    text = (starter / WORKFLOW).read_text(encoding="utf-8")
    ours = Yaml.load(text)
    theirs = pyyaml(text)
    if theirs is not None:  # no PyYAML anywhere: the strict parser alone
        assert ours == theirs
    assert text == bundle.actions_workflow(TEMPLATE.read_text(encoding="utf-8"), GRADED)
    assert ours["jobs"]["grade"]["env"]["AIOKATA_EXERCISES"] == " ".join(GRADED)
    assert Yaml.load(TEMPLATE.read_text())["jobs"]["grade"]["env"]["AIOKATA_EXERCISES"] == ""


def test_the_workflow_runs_on_push_and_uses_only_known_actions_and_steps(starter):
    workflow = load_workflow(starter)
    assert set(workflow["on"]) == {"push", "workflow_dispatch"}
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    uses = {step["uses"] for step in job["steps"] if "uses" in step}
    assert uses == ALLOWED_ACTIONS
    ids = [step.get("id") for step in job["steps"]]
    # Every step output read is written by an earlier step with that id.
    for number, step in enumerate(job["steps"]):
        for text in [*step.get("env", {}).values(), *step.get("with", {}).values()]:
            for used in re.findall(r"steps\.([\w-]+)\.", str(text)):
                assert used in ids[:number], f"{step['name']} reads steps.{used}"
    for text in job["outputs"].values():
        assert re.fullmatch(r"\$\{\{ steps\.grade\.outputs\.\w+ \}\}", text)
    assert all(step.get("if") in (None, "always()") for step in job["steps"] if "run" in step)
    (python,) = [
        s["with"]["python-version"] for s in job["steps"] if "setup-python" in s.get("uses", "")
    ]
    assert tuple(map(int, python.split("."))) >= (3, 11)  # pyproject.toml's requires-python
    assert job["env"]["AIOKATA_REQUIRE_ALL"] == "true"  # the documented default: red until done
    (upload,) = [s for s in job["steps"] if "upload-artifact" in s.get("uses", "")]
    assert upload["if"] == "always()"
    assert {Path(p).name for p in upload["with"]["path"].splitlines()} == {
        "grades.json",
        "grades.xml",
        "summary.md",
    }


def test_every_script_is_bash_with_no_expressions_and_calls_real_aiokata_options(starter):
    scripts = run_scripts(load_workflow(starter))
    assert scripts
    grade = aiokata_cli.get_command(click.Context(aiokata_cli), "grade")
    known = {opt for param in grade.params for opt in getattr(param, "opts", [])}
    (fmt,) = [p for p in grade.params if p.name == "fmt"]
    calls = 0
    for script in scripts:
        assert "${{" not in script  # values come in through env:, never pasted into bash
        check = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        for line in script.splitlines():
            if not re.match(r"\s*(if ! )?aiokata ", line):
                continue
            calls += 1
            words = line.split()
            command = words[words.index("aiokata") + 1]
            assert command == "grade", line
            for word in words:
                if word.startswith("--"):
                    assert word in known, f"aiokata grade has no option {word}"
            chosen = words[words.index("--format") + 1]
            assert chosen in fmt.type.choices
    assert calls == 3  # json, junit and markdown
    (grading,) = [s for s in scripts if "aiokata grade" in s]
    for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", grading):
        assert option in known, f"aiokata grade has no option {option}"
    (sandbox,) = [s for s in scripts if "bwrap" in s]
    assert 'echo "flag=--sandbox"' in sandbox and "--sandbox" in known
    # The install step installs the kit that is in the repository.
    for name in ("pyproject.toml", "conftest.py", "README.md", "src/aiokata/cli.py"):
        assert (starter / name).is_file()


# --- the workflow, run --------------------------------------------------------------------------


def bwrap_works_here() -> bool:
    probe = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", "/"]
    probe += ["/", "--proc", "/proc", "--dev", "/dev", "--uid", "65534", "--gid", "65534", "true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=60).returncode == 0
    except OSError:
        return False


def engine_files() -> list[tuple[str, int, int]]:
    engine = Path(aiokata.__file__).parent
    return [(str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(engine.rglob("*.py"))]


def test_a_solved_repository_is_graded_in_full_and_its_check_passes(starter, tmp_path):
    repo = student_repo(starter, tmp_path / "repo", FIRST, SECOND)
    engine = engine_files()

    run = run_workflow(repo, tmp_path / "run")

    assert not run.failed, [(s.name, s.stderr[-2000:]) for s in run.steps]
    graded = run.grades()
    assert graded["score"] == graded["max_score"] == FIRST.points + SECOND.points
    assert_summary_matches(run.summary, graded)
    assert run.outputs == {"score": str(graded["score"]), "max_score": str(graded["max_score"])}
    check = run.step("Check the score")
    assert f"::notice title=aiokata::{graded['score']}/{graded['max_score']} points" in check.stdout
    assert re.search(r"python -I -m pip install .* \. \(cwd .*/repo\)", run.fakes_log)
    sandboxed = bwrap_works_here()
    assert graded["sandboxed"] is sandboxed
    assert run.step("Set up the sandbox").outputs == {"flag": "--sandbox" if sandboxed else ""}
    # Nothing is graded twice: the JUnit and Markdown grades are read back from --results. (A
    # saved grade is stale once the engine changes, which only happens here if someone edits
    # this checkout's src/aiokata while the test runs.)
    if engine_files() == engine:
        grade_log = run.step("Grade").stderr
        assert grade_log.count("(saved earlier, not regraded)") == 2, grade_log


FORGED_JSON = """\
def load(stream):
    return {"submissions": [{"score": 999, "max_score": 999}]}
"""


def test_a_partial_repository_keeps_its_check_red_with_the_numbers_of_its_grade(starter, tmp_path):
    repo = student_repo(starter, tmp_path / "repo", FIRST)  # SECOND keeps its stub
    # A module planted at the root, where `python -` would import it from without -I:
    (repo / "json.py").write_text(FORGED_JSON)

    run = run_workflow(repo, tmp_path / "run", bwrap_works=False)

    graded = run.grades()
    assert graded["score"] == FIRST.points and graded["max_score"] == FIRST.points + SECOND.points
    assert_summary_matches(run.summary, graded)
    assert "_Graded without the sandbox: bubblewrap cannot run on this runner._" in run.summary
    assert graded["sandboxed"] is False
    assert "sudo -n sysctl" in run.fakes_log  # it tried to let bwrap in, and was refused
    assert [s.name for s in run.steps if s.returncode not in (None, 0)] == ["Check the score"]
    check = run.step("Check the score")
    assert check.returncode == 1
    assert f"::error title=aiokata::{FIRST.points}/{graded['max_score']} points" in check.stdout
    assert run.outputs["score"] == str(FIRST.points)
    # The artifacts the upload step names exist and agree with the JSON.
    steps = load_workflow(repo)["jobs"]["grade"]["steps"]
    (upload,) = [s for s in steps if "upload-artifact" in s.get("uses", "")]
    for path in upload["with"]["path"].splitlines():
        assert Path(resolve(path, {}, run.runner_temp, {})).is_file(), path
    suites = ET.parse(run.runner_temp / "aiokata" / "grades.xml").getroot()
    failing = sum(int(s.get("failures")) + int(s.get("errors")) for s in suites)
    lost = [t for e in graded["exercises"] for t in e["tasks"] if t["status"] != "pass"]
    assert failing >= len(lost) > 0
    summary_file = (run.runner_temp / "aiokata" / "summary.md").read_text(encoding="utf-8")
    assert summary_file in run.summary

    # The other outcome is one line of the workflow: green whatever the score.
    workflow = repo / WORKFLOW
    text = workflow.read_text()
    assert text.count('AIOKATA_REQUIRE_ALL: "true"') == 1
    workflow.write_text(text.replace('AIOKATA_REQUIRE_ALL: "true"', 'AIOKATA_REQUIRE_ALL: "false"'))
    again = run_workflow(repo, tmp_path / "again", bwrap_works=False, runner_temp=run.runner_temp)
    assert not again.failed, [(s.name, s.stdout, s.stderr[-2000:]) for s in again.steps]
    assert again.outputs == run.outputs
    notice = f"::notice title=aiokata::{FIRST.points}/{graded['max_score']} points"
    assert notice in again.step("Check the score").stdout


def test_when_grading_cannot_run_the_job_fails_and_the_summary_says_so(starter, tmp_path):
    repo = student_repo(starter, tmp_path / "repo", FIRST)
    workflow = repo / WORKFLOW
    workflow.write_text(
        workflow.read_text().replace(
            f'AIOKATA_EXERCISES: "{" ".join(GRADED)}"', 'AIOKATA_EXERCISES: "99"'
        )
    )

    run = run_workflow(repo, tmp_path / "run", bwrap_works=False)

    grade = run.step("Grade")
    assert grade.returncode == 1 and "no exercise '99'" in grade.stderr
    assert "## aiokata could not grade this push" in run.summary
    assert run.step("Check the score").skipped == "an earlier step failed"
    assert run.step("Upload the grades").skipped.startswith("uses: actions/upload-artifact")


# --- Classroom 50: autograder.py and its result.json ----------------------------------------

RUNNER_ENV = {
    "CLASSROOM": "cs101",
    "ASSIGNMENT": "week1",
    "SUBMISSION_TAG": "submit/2026-09-01T10-00-00Z-abc1234",
    "COMMIT_URL": "https://github.com/my-course/cs101-week1-alice/commit/abc1234",
    "RELEASE_URL": "https://github.com/my-course/cs101-week1-alice/releases/tag/submit%2F2026",
    "REVIEW_URL": "https://github.com/my-course/cs101-week1-alice/compare/000...abc1234",
    "USERNAME": "alice",
    "OWNER": "alice",
    "ASSIGNMENT_TYPE": "individual",
    "GITHUB_ACTOR": "alice",
}
UTC_SECOND = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def contract_errors(data) -> list[str]:
    """What is wrong with `data` as Classroom 50's result.json for RUNNER_ENV's submission:
    the fields and types of the wiki's contract table, the identity checks and limits of its
    runner's validate_result, and the sums the contract defines."""
    if not isinstance(data, dict):
        return ["not a JSON object"]
    errors = []

    def need(ok: bool, what: str) -> None:
        if not ok:
            errors.append(what)

    def count(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    need(data.get("schema") == "classroom50/result/v1", "schema")
    need(data.get("classroom") == RUNNER_ENV["CLASSROOM"], "classroom")
    need(data.get("assignment") == RUNNER_ENV["ASSIGNMENT"], "assignment")
    need(data.get("owner") == RUNNER_ENV["OWNER"], "owner")
    need(data.get("assignment_type") in ("individual", "group", "team"), "assignment_type")
    need(str(data.get("submission", "")).startswith("submit/"), "submission: a submit/* tag")
    for key in ("commit", "release", "review", "datetime"):
        need(isinstance(data.get(key), str) and bool(data[key]), f"{key}: a non-empty string")
    need(bool(UTC_SECOND.fullmatch(str(data.get("datetime")))), "datetime: UTC ISO 8601")
    need(count(data.get("score")) and count(data.get("max-score")), "score, max-score")
    tests = data.get("tests")
    need(isinstance(tests, list), "tests: a list")
    for number, test in enumerate(tests if isinstance(tests, list) else []):
        where = f"tests[{number}]"
        if not isinstance(test, dict):
            errors.append(f"{where}: not an object")
            continue
        name = test.get("test-name")
        need(isinstance(name, str) and bool(name), f"{where}.test-name")
        need(isinstance(test.get("passed"), bool), f"{where}.passed: a boolean")
        need(count(test.get("score")) and count(test.get("max-score")), f"{where}: scores")
        if count(test.get("score")) and count(test.get("max-score")):
            need(test["score"] <= test["max-score"], f"{where}: score > max-score")
            need(test["score"] in (0, test["max-score"]), f"{where}: partial task points")
            need(test["passed"] == (test["score"] == test["max-score"]), f"{where}: passed")
        need(isinstance(name, str) and len(name.encode()) <= 100, f"{where}: name over 100 bytes")
        need(not re.search(r"[\x00-\x1f\x7f]", str(name)), f"{where}: control characters")
    if not errors:
        need(data["score"] == sum(t["score"] for t in tests), "score: the sum of the tests'")
        need(data["max-score"] == sum(t["max-score"] for t in tests), "max-score: the sum")
        need(len({t["test-name"] for t in tests}) == len(tests), "test names: not unique")
    return errors


def stamped(data: dict) -> dict:
    """result.json after the runner's own stamping (finalize_result), before it validates."""
    return {
        **data,
        "owner": RUNNER_ENV["OWNER"],
        "assignment_type": RUNNER_ENV["ASSIGNMENT_TYPE"],
        "datetime": "2026-09-01T10:00:00Z",
        "graded_at": "2026-09-01T10:00:09Z",
        "submitted_by": {"username": RUNNER_ENV["GITHUB_ACTOR"], "id": None},
    }


@pytest.fixture(scope="module")
def classroom50(tmp_path_factory) -> tuple[Path, Path]:
    """(the per-assignment autograder folder, the assignment's starter repository)."""
    root = tmp_path_factory.mktemp("classroom50")
    settings = bundle.Classroom50Settings(exercises=GRADED)
    bundle.build_classroom50_bundle(KIT, root / "week1", settings, template=root / "template")
    return root / "week1", root / "template"


@dataclass
class Graded:
    returncode: int
    stdout: str
    stderr: str
    result: dict | None
    body: str | None


def run_autograder(folder: Path, repo: Path, **env: str) -> Graded:
    """Run autograder.py as Classroom 50's runner does: `python autograder.py` in the student's
    checkout, with its environment (the runner's own bundle copy lives in RUNNER_TEMP)."""
    settings = {
        **RUNNER_ENV,
        "CLASSROOM50_BUNDLE_DIR": str(folder),
        "RUNNER_TEMP": str(repo.parent),
        "AIOKATA_PYTHON": sys.executable,  # has aiokata: no virtual environment from PyPI
        "AIOKATA_SANDBOX": "off",
        **env,
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AIOKATA_"))}
    done = subprocess.run(
        [sys.executable, str(folder / "autograder.py")],
        cwd=repo,
        env={**clean, **settings},
        capture_output=True,
        text=True,
        timeout=300,
    )
    result, body = repo / "result.json", repo / "release-body.md"
    return Graded(
        done.returncode,
        done.stdout,
        done.stderr,
        json.loads(result.read_text(encoding="utf-8")) if result.exists() else None,
        body.read_text(encoding="utf-8") if body.exists() else None,
    )


def split_by_exercise(result: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for test in result["tests"]:
        found.setdefault(test["test-name"][:2], []).append(test)
    return found


def assert_body_matches(body: str, result: dict) -> None:
    tables = markdown_tables(body)
    assert f"## aiokata: {result['score']}/{result['max-score']} points" in body
    rows = [row for number in sorted(tables) for row in tables[number]["rows"]]
    assert len(rows) == len(result["tests"])
    for row, test in zip(rows, result["tests"], strict=True):
        assert row["points"] == (test["score"], test["max-score"])
        assert row["result"].startswith("✅") == test["passed"]
        assert row["result"].endswith(test["status"])


def test_the_classroom50_folder_holds_the_autograder_settings_and_kit_and_no_answers(classroom50):
    folder, template = classroom50
    assert (folder / "autograder.py").read_bytes() == (
        KIT / "autograders" / "classroom50" / "autograder.py"
    ).read_bytes()
    assert f"AIOKATA_EXERCISES={' '.join(GRADED)}\n" in (folder / "aiokata.env").read_text()
    for top in (folder, folder / "kit", template):
        assert not (top / "solutions").exists() and not (top / "tests").exists()
    assert (folder / "kit" / "exercises" / FIRST.name / FIRST.test_file.name).is_file()
    # Classroom 50 writes .github/workflows/autograde.yaml itself; the template must not.
    assert not (template / ".github").exists()
    assert (template / "exercises" / FIRST.name / FIRST.module_file).is_file()


def test_a_solved_submission_gets_every_point(classroom50, tmp_path):
    folder, template = classroom50
    repo = student_repo(template, tmp_path / "checkout", FIRST, SECOND)

    graded = run_autograder(folder, repo)

    assert graded.returncode == 0, graded.stderr
    assert contract_errors(stamped(graded.result)) == []
    assert contract_errors(graded.result) == []  # whole before the runner stamps it, too
    assert graded.result["score"] == graded.result["max-score"] == FIRST.points + SECOND.points
    assert len(graded.result["tests"]) == len(FIRST.tasks) + len(SECOND.tasks)
    assert all(t["passed"] and t["status"] == "pass" for t in graded.result["tests"])
    assert graded.result["review"] == RUNNER_ENV["REVIEW_URL"]
    assert_body_matches(graded.body, graded.result)


def test_a_partial_submission_gets_the_points_of_the_tasks_that_pass(classroom50, tmp_path):
    folder, template = classroom50
    repo = student_repo(template, tmp_path / "checkout", FIRST)

    graded = run_autograder(folder, repo, REVIEW_URL="")

    assert graded.returncode == 0, graded.stderr
    assert contract_errors(stamped(graded.result)) == []
    assert graded.result["review"] == RUNNER_ENV["COMMIT_URL"]  # the contract's fallback
    by_exercise = split_by_exercise(graded.result)
    first, second = by_exercise[f"{FIRST.number:02d}"], by_exercise[f"{SECOND.number:02d}"]
    assert [t["score"] for t in first] == [task.points for task in FIRST.tasks]
    assert [t["max-score"] for t in second] == [task.points for task in SECOND.tasks]
    assert {t["passed"] for t in second} == {False} and {t["score"] for t in second} == {0}
    assert all("is not written yet" in t["message"] for t in second)
    assert graded.result["score"] == FIRST.points
    assert_body_matches(graded.body, graded.result)


def test_modules_planted_in_the_checkout_are_not_what_grades_it(classroom50, tmp_path):
    # With the checkout as its current folder, `python -c "from aiokata.cli import main"` would
    # import this instead of the grader, and `python -m venv` or `-m pip` a planted venv/, pip/.
    folder, template = classroom50
    repo = student_repo(template, tmp_path / "checkout", FIRST)
    for name in ("aiokata", "venv", "pip"):
        (repo / name).mkdir()
        (repo / name / "__init__.py").write_text(FORGED_GRADER)
    (repo / "aiokata" / "cli.py").write_text(FORGED_GRADER)

    graded = run_autograder(folder, repo)

    assert graded.returncode == 0, graded.stderr
    assert graded.result["score"] == FIRST.points
    assert contract_errors(stamped(graded.result)) == []


FORGED_GRADER = """\
import sys
def main(**kwargs):
    out = sys.argv[sys.argv.index("--out") + 1]
    with open(out, "w") as stream:
        stream.write('{"submissions": [{"exercises": [], "score": 99, "max_score": 99}]}')
"""


def test_a_submission_that_does_not_parse_is_graded_not_an_error(classroom50, tmp_path):
    folder, template = classroom50
    repo = student_repo(template, tmp_path / "checkout", SECOND)
    hand_in(repo, FIRST, "async def slow_square(x, delay)\n    return x * x\n")

    graded = run_autograder(folder, repo)

    assert graded.returncode == 0, graded.stderr
    assert contract_errors(stamped(graded.result)) == []
    by_exercise = split_by_exercise(graded.result)
    broken = by_exercise[f"{FIRST.number:02d}"]
    assert {t["passed"] for t in broken} == {False}
    assert all("has a syntax error on line 1" in t["message"] for t in broken), broken
    assert {t["passed"] for t in by_exercise[f"{SECOND.number:02d}"]} == {True}
    assert graded.result["score"] == SECOND.points
    assert_body_matches(graded.body, graded.result)


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"AIOKATA_EXERCISES": "99"}, "no exercise '99'"),
        ({"CLASSROOM": ""}, "CLASSROOM not set"),
        ({"AIOKATA_PYTHON": "/nonexistent/python"}, "cannot import aiokata"),
        ({"AIOKATA_SANDBOX": "sometimes"}, "AIOKATA_SANDBOX must be"),
    ],
)
def test_when_grading_cannot_run_it_exits_non_zero_without_a_result(
    classroom50, tmp_path, env, reason
):
    # The contract: a non-zero exit is an infrastructure error; the runner then writes its
    # own error result. A result.json written anyway would be published as a real score.
    folder, template = classroom50
    repo = student_repo(template, tmp_path / "checkout", FIRST)

    graded = run_autograder(folder, repo, **env)

    assert graded.returncode == 1
    assert graded.result is None and graded.body is None
    (line,) = [x for x in graded.stderr.splitlines() if x.startswith("::error")]
    assert reason in line


def load_autograder():
    spec = importlib.util.spec_from_file_location(
        "classroom50_autograder", KIT / "autograders" / "classroom50" / "autograder.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_autograder_sums_up_each_task_as_the_markdown_table_does(monkeypatch):
    autograder = load_autograder()
    for key in ("OWNER", "USERNAME", "ASSIGNMENT_TYPE"):
        monkeypatch.delenv(key, raising=False)
    message = "Traceback, first line\nE   ValueError: b\x07ad \x1b[31mred\x1b[0m value\nE   more"
    graded = grade_with(message)
    data = autograder.result(graded.to_dict(), RUNNER_ENV)

    assert contract_errors(stamped(data)) == []
    assert "owner" not in data and "assignment_type" not in data  # left to the runner
    rows = [(e, t) for e in graded.exercises for t in e.tasks]
    assert len(data["tests"]) == len(rows)
    for test, (exercise, task) in zip(data["tests"], rows, strict=True):
        assert test["passed"] == (task.status == "pass") and test["status"] == task.status
        assert (test["score"], test["max-score"]) == (task.score, task.max_score)
        if exercise.not_run:  # said with the note: there is no table heading to say it
            assert test["message"] == " ".join(exercise.notes)
        else:
            assert test["message"] == formats.first_failure(exercise, task)
    assert data["tests"][0]["message"] == "test_it: ValueError: bad red value"
    assert data["tests"][0]["test-name"] == "01 Ex, task 1: one | two"


def test_the_contract_check_itself_catches_what_the_runner_rejects():
    good = {
        "schema": "classroom50/result/v1",
        "classroom": "cs101",
        "assignment": "week1",
        "submission": "submit/x",
        "commit": "c",
        "release": "r",
        "review": "v",
        "datetime": "2026-09-01T10:00:00Z",
        "score": 1,
        "max-score": 2,
        "tests": [
            {"test-name": "a", "passed": True, "score": 1, "max-score": 1},
            {"test-name": "b", "passed": False, "score": 0, "max-score": 1},
        ],
    }
    assert contract_errors(stamped(good)) == []
    for broken in (
        {**good, "schema": "classroom50/result/v2"},
        {**good, "assignment": "week2"},
        {**good, "submission": "v1.0"},
        {**good, "score": True},
        {**good, "score": 2},
        {**good, "tests": [{**good["tests"][0], "passed": "yes"}, good["tests"][1]]},
        {**good, "tests": [good["tests"][0], {**good["tests"][1], "score": 2}]},
    ):
        assert contract_errors(stamped(broken)), broken


# --- --format markdown ---------------------------------------------------------------------

HOSTILE = "x | y `code` **bold** [link](http://e.x) <b>html</b> &amp; $math$ @octocat \\| ~~s~~"


def grade_with(message: str) -> SubmissionGrade:
    test = model.TestGrade(
        name="test_it", nodeid="x::test_it", task=1, status="fail", message=message
    )
    failing = TaskGrade(id=1, title="one | two", max_score=2, status="fail", tests=[test])
    passing = TaskGrade(id=2, title="three", max_score=1, score=1)
    exercise = ExerciseGrade(
        name="01_x", number=1, title="Ex", max_score=3, score=1, status="fail",
        tasks=[failing, passing],
    )  # fmt: skip
    missing = ExerciseGrade.not_handed_in(SECOND, f"{SECOND.name}/{SECOND.module_file} is gone")
    return SubmissionGrade(
        name="who", path="/who", digest="d", exercises=[exercise, missing], notes=[HOSTILE]
    )


def test_markdown_keeps_learner_text_literal_and_tables_whole():
    text = formats.render("markdown", [grade_with(f"E   AssertionError: {HOSTILE}\nmore")])
    tables = markdown_tables(text)
    assert tables[1]["rows"][0]["why"] == f"test_it: AssertionError: {HOSTILE}"
    assert tables[1]["rows"][0]["title"] == "one | two"
    for line in text.splitlines():
        if line.startswith("| "):
            assert len(re.split(r"(?<!\\)\|", line)) == 6, line  # four cells, no more
    for raw in ("**bold**", "`code`", "[link]", "<b>", "$math$", "~~s~~"):
        assert raw not in text
    assert "\\&amp;" in text and "&amp;" not in text.replace("\\&amp;", "")
    assert "@octocat" not in text  # a word joiner keeps a release body from notifying anyone
    assert "- x \\| y" in text  # the notes, as a list
    # An exercise not handed in: said once under its heading, each task a plain "not handed in".
    assert tables[SECOND.number]["rows"][0]["why"] == "not handed in"
    assert text.count(formats.md_text(f"{SECOND.name}/{SECOND.module_file} is gone")) == 1


def test_markdown_cuts_a_long_message_and_names_each_submission_when_there_are_several():
    long = grade_with("E   ValueError: " + "x" * 1000)
    text = formats.render("markdown", [long])
    why = markdown_tables(text)[1]["rows"][0]["why"]
    assert len(why) == formats.MARKDOWN_MESSAGE and why.endswith("…")
    several = formats.render("markdown", [long, long])
    assert several.count("## who: 1/") == 2 and "## aiokata" not in several
