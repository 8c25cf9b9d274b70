"""The lessons read alike and promise nothing that is not there.

For every exercise in the catalogue, its lesson (exercises/NN_slug/README.md):
- starts with the title line `# NN <title>`, NN and title as in its exercise.toml (the rule:
  the lesson, `aiokata list` and the progress summary name an exercise the same way);
- has exactly these `##` sections, in this order (anything else is a `###` inside one of them):
  The idea / A worked example (not the answer) / The tasks / Pitfalls the tests catch /
  Running the tests / Read more;
- has, under `## The tasks`, one `### Task N: `signature`` heading per task of exercise.toml,
  in order, naming the function(s) the task's title names;
- shows `pytest exercises/NN` under `## Running the tests` and names the file the learner edits.

And across the lessons, the stubs, the exercises' metadata (hints) and the root README.md:
- every reference to an exercise by number ("exercise 14", "exercises 11 and 13",
  "exercises/14_queues", "`pytest exercises/05`", "aiokata hint 05", "see 14") names an
  exercise that exists, with its own slug where a slug is given;
- every relative markdown link points to a file that exists (and, with a `#fragment`, to a
  heading there).

Plain text only: no pytest subprocess, so the whole file runs in well under a second.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiokata import catalog

KIT = Path(__file__).resolve().parents[1]
EXERCISES = catalog.load_catalog(KIT)
BY_NUMBER = {e.number: e for e in EXERCISES}

SECTIONS = (
    "The idea",
    "A worked example (not the answer)",
    "The tasks",
    "Pitfalls the tests catch",
    "Running the tests",
    "Read more",
)
TASKS_SECTION = "The tasks"
RUNNING_SECTION = "Running the tests"


def rel(path: Path) -> str:
    return path.relative_to(KIT).as_posix()


def lesson(exercise: catalog.Exercise) -> Path:
    return exercise.folder / "README.md"


def metadata(exercise: catalog.Exercise) -> str:
    return rel(exercise.folder / catalog.METADATA)


def fail(problems: list[str]) -> None:
    if problems:
        pytest.fail("\n".join(dict.fromkeys(problems)), pytrace=False)


# --- reading markdown ---------------------------------------------------------------------

FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)")
TASKISH = re.compile(r"^#{1,6}\s*tasks?\s*\d", re.I)
TASK_HEADING = re.compile(r"^### Task (?P<id>\d+): (?P<rest>`.*)$")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def lines_of(text: str) -> Iterator[tuple[int, str, bool]]:
    """(line number, line, inside a fenced code block?) for every line."""
    fence = ""
    for number, line in enumerate(text.splitlines(), 1):
        opener = FENCE.match(line)
        if opener and not fence:
            fence = opener.group(1)
            yield number, line, True
        elif opener and fence and opener.group(1).startswith(fence[0] * len(fence)):
            fence = ""
            yield number, line, True
        else:
            yield number, line, bool(fence)


def headings(text: str) -> list[tuple[int, int, str]]:
    """(line number, level, text) of every heading outside fenced code."""
    found = []
    for number, line, in_code in lines_of(text):
        match = None if in_code else HEADING.match(line)
        if match:
            found.append((number, len(match.group(1)), match.group(2)))
    return found


def anchor(heading: str) -> str:
    """The `#fragment` GitHub gives a heading: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    for _, _, title in headings(text):
        slug = anchor(title)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        if count:
            seen[f"{slug}-{count}"] = 1
    return set(seen)


# --- references to exercises --------------------------------------------------------------
#
# Each pattern is a way the kit's texts name an exercise by number. They ask for words that
# only a reference has around a number ("exercise", "exercises/", "aiokata hint", "see", a
# zero-padded number after "to"), so "3 seconds", "10,000 lines", "Python 3.11", "at 09:00"
# and the curriculum table's "| 11 | task_groups |" are not references.

_NUM = r"\d{1,2}(?!\d)"
_SEP = (
    r"(?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|to|through)\s+|\s*[-\u2013]\s*)"  # - or an en dash
)
_UNIT = r"(?!\s*(?:s|ms|seconds?|minutes?|hours?|days?|%)\b)"
REFERENCES = [
    # exercise 14, Exercise 08:, exercises 11 and 13, exercises 11, 13 and 14, exercises 11-13
    re.compile(rf"\bexercises?\s+(?P<nums>{_NUM}(?:{_SEP}{_NUM})*)(?![.,:]\d){_UNIT}", re.I),
    # exercises/05, `pytest exercises/05`, exercises/14_queues/queues.py, exercises/14_...
    re.compile(r"\bexercises/(?P<nums>\d{2})(?!\d)(?:_(?P<slug>[a-z][a-z0-9_]*))?"),
    # a folder name on its own: 03_tasks, alice/03_tasks/tasks.py, | 01_coroutines |
    re.compile(r"(?<![\w/])(?P<nums>\d{2})_(?P<slug>[a-z][a-z0-9_]*)"),
    # aiokata check 05, aiokata hint --all 05, aiokata grade ... -e 05
    re.compile(
        r"\baiokata\s+(?:check|watch|hint|reset|restore|solution|prove)\s+(?:--?[\w-]+\s+)*"
        rf"(?P<nums>{_NUM})"
    ),
    re.compile(rf"\s-e\s+(?P<nums>{_NUM})"),
    # see 14, see also 14
    re.compile(rf"\bsee\s+(?:also\s+)?(?P<nums>\d{{2}})(?![.,:]?\d){_UNIT}", re.I),
    # moves on to 02, as in 05 (a zero-padded number after a preposition)
    re.compile(
        rf"\b(?:in|to|from|after|before|until|than)\s+(?P<nums>0[1-9])(?![.,:]?\d){_UNIT}", re.I
    ),
    # moves on to 13, goes on to 14 (the next exercise in line)
    re.compile(rf"\bon\s+to\s+(?P<nums>\d{{2}})(?![.,:]?\d){_UNIT}", re.I),
    # in 16 you will ..., by 14 we ...
    re.compile(r"\b(?:in|by)\s+(?P<nums>\d{2})\s+(?:you|we)\b", re.I),
    # 07's tool
    re.compile(r"(?<![\w.])(?P<nums>0[1-9]|1\d|2[0-6])'s\b"),
]


def numbers_in(text: str) -> list[int]:
    """The exercise numbers a reference names: "11 and 13" -> 11, 13; "11-13" -> 11, 12, 13."""
    numbers: list[int] = []
    pieces = re.split(rf"({_SEP})", text)
    for i in range(0, len(pieces), 2):
        value = int(pieces[i])
        joiner = pieces[i - 1].strip().lower() if i else ""
        if joiner in ("-", "\u2013", "to", "through") and numbers and numbers[-1] < value:
            numbers.extend(range(numbers[-1] + 1, value + 1))
        else:
            numbers.append(value)
    return numbers


def references(text: str) -> Iterator[tuple[int, str, int, str | None]]:
    """(line number, the words that refer, exercise number, slug or None) for each reference."""
    for number, line, _ in lines_of(text):
        taken: list[range] = []  # one reference is read once, by the first pattern that fits
        for pattern in REFERENCES:
            for match in pattern.finditer(line):
                if any(match.start() < span.stop and span.start < match.end() for span in taken):
                    continue
                taken.append(range(match.start(), match.end()))
                slug = match.groupdict().get("slug")
                for value in numbers_in(match.group("nums")):
                    yield number, match.group(0).strip(), value, slug


def reference_problems(path: Path, text: str) -> list[str]:
    existing = ", ".join(e.name for e in EXERCISES)
    problems = []
    for number, words, value, slug in references(text):
        where = f"{rel(path)}:{number}: `{words}`"
        exercise = BY_NUMBER.get(value)
        if exercise is None:
            problems.append(
                f"{where} names exercise {value:02d}, which the kit does not have (it has "
                f'{existing}). Reword it so it promises no page that is not there ("a later '
                'exercise on ...", or leave the pointer out), or point to an exercise that exists.'
            )
        elif slug is not None and slug != exercise.slug:
            problems.append(
                f"{where}: exercise {value:02d} is {exercise.name} ({exercise.title}), not "
                f"{value:02d}_{slug}; use its real folder name."
            )
    return problems


# --- relative links -----------------------------------------------------------------------

INLINE_LINK = re.compile(r"!?\[(?P<text>[^\]]*)\]\(\s*<?(?P<target>[^)\s>]+)>?(?:\s+\"[^\"]*\")?\)")
LINK_DEFINITION = re.compile(r"^\s{0,3}\[(?P<text>[^\]]+)\]:\s*<?(?P<target>[^\s>]+)>?")
ABSOLUTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)


def link_problems(path: Path, text: str) -> list[str]:
    problems = []
    for number, line, in_code in lines_of(text):
        if in_code:
            continue
        code = [range(m.start(), m.end()) for m in CODE_SPAN.finditer(line)]
        for match in [*INLINE_LINK.finditer(line), *LINK_DEFINITION.finditer(line)]:
            target = match.group("target")
            if ABSOLUTE.match(target) or any(match.start() in span for span in code):
                continue
            link = f"[{match.group('text')}]({target})"
            file_part, _, fragment = target.partition("#")
            file_part = file_part.split("?")[0]
            pointed = (path.parent / file_part).resolve() if file_part else path
            where = f"{rel(path)}:{number}: the link {link}"
            if not pointed.exists():
                shown = rel(pointed) if pointed.is_relative_to(KIT) else str(pointed)
                problems.append(
                    f"{where} points to {shown}, which does not exist. Fix the path (it is "
                    f"relative to {rel(path.parent) or '.'}/) or drop the link."
                )
            elif fragment and pointed.suffix == ".md":
                if fragment not in anchors(pointed.read_text(encoding="utf-8")):
                    problems.append(
                        f"{where} points to #{fragment}, but no heading of {rel(pointed)} has "
                        "that anchor (GitHub's: lower case, punctuation dropped, spaces to -). "
                        "Fix the fragment or the heading."
                    )
    return problems


# --- the lesson's shape -------------------------------------------------------------------


def title_problems(exercise: catalog.Exercise, text: str) -> list[str]:
    want = f"# {exercise.number:02d} {exercise.title}"
    first = text.splitlines()[0] if text.strip() else ""
    problems = []
    if first != want:
        problems.append(
            f"{rel(lesson(exercise))}:1: the title line is {first!r}; make it {want!r}: "
            f"the exercise's number and the title in {metadata(exercise)}, which `aiokata list` "
            "shows (or change both)."
        )
    for number, level, title in headings(text):
        if level == 1 and number != 1:
            problems.append(
                f"{rel(lesson(exercise))}:{number}: a second `#` heading ({title!r}); a lesson "
                "has one title, on line 1: make this a `##` section or a `###` subsection."
            )
    return problems


def section_problems(exercise: catalog.Exercise, text: str) -> list[str]:
    where = rel(lesson(exercise))
    order = ", ".join(f"`## {s}`" for s in SECTIONS)
    problems = []
    seen: dict[str, int] = {}
    for number, level, title in headings(text):
        if level != 2:
            continue
        if TASKISH.match(f"## {title}"):
            problems.append(
                f"{where}:{number}: `## {title}` is a task: make it a `###` heading under "
                f"`## {TASKS_SECTION}`, as `### Task N: `signature``."
            )
        elif title not in SECTIONS:
            problems.append(
                f"{where}:{number}: `## {title}` is not one of the lesson's sections ({order}). "
                "Rename it to the one it is, or make it a `###` subsection of the section it "
                "belongs to."
            )
        elif title in seen:
            problems.append(
                f"{where}:{number}: a second `## {title}` (the first is on line {seen[title]}); "
                "merge the two."
            )
        else:
            seen[title] = number
    for i, section in enumerate(SECTIONS):
        if section not in seen:
            after = f"after `## {SECTIONS[i - 1]}`" if i else "right after the title"
            problems.append(
                f"{where}: no `## {section}` section; add it {after} (the sections are {order})."
            )
    present = [s for s in SECTIONS if s in seen]
    for earlier, later in itertools.pairwise(present):
        if seen[later] < seen[earlier]:
            problems.append(
                f"{where}:{seen[later]}: `## {later}` comes before `## {earlier}` (line "
                f"{seen[earlier]}); move it: the sections go {order}."
            )
    return problems


def section_of(text: str, name: str) -> list[tuple[int, str, bool]]:
    """The lines of the `## name` section, up to the next `##` (or `#`) heading."""
    found, inside = [], False
    for number, line, in_code in lines_of(text):
        match = None if in_code else HEADING.match(line)
        if match and len(match.group(1)) <= 2:
            inside = len(match.group(1)) == 2 and match.group(2) == name
            continue
        if inside:
            found.append((number, line, in_code))
    return found


def named_in_title(task: catalog.Task) -> list[str]:
    """The functions a task's title starts with: "keep and batched: ..." -> keep, batched."""
    head, colon, _ = task.title.partition(": ")
    if not colon:
        return []
    parts = [p.strip() for p in re.split(r",|\band\b", head)]
    if not all(IDENTIFIER.fullmatch(p) for p in parts):
        return []
    return parts


def task_problems(exercise: catalog.Exercise, text: str) -> list[str]:
    where = rel(lesson(exercise))
    in_section = {number for number, _, _ in section_of(text, TASKS_SECTION)}
    problems, found = [], []
    for number, line, in_code in lines_of(text):
        if in_code or not TASKISH.match(line):
            continue
        strict = TASK_HEADING.match(line)
        if number not in in_section:
            problems.append(
                f"{where}:{number}: {line!r} is outside `## {TASKS_SECTION}`; move it there "
                "as a `### Task N: ...` subsection."
            )
        elif not strict:
            problems.append(
                f"{where}:{number}: {line!r}: write task headings as `### Task N: `signature``, "
                "e.g. `### Task 1: `slow_square(x, delay)``."
            )
        else:
            found.append((number, int(strict["id"]), strict["rest"]))
    ids = [task_id for _, task_id, _ in found]
    wanted = [task.id for task in exercise.tasks]
    if ids != wanted:
        listed = "\n".join(f"  task {t.id}: {t.title}" for t in exercise.tasks)
        problems.append(
            f"{where}: the `### Task N:` headings are numbered {ids}, but {metadata(exercise)} "
            f"has {len(wanted)} tasks; give the lesson one heading per task, in this order:\n"
            f"{listed}"
        )
    for number, task_id, rest in found:
        task = exercise.task(task_id)
        spans = " ".join(span.group(0) for span in CODE_SPAN.finditer(rest)).lower()
        for name in named_in_title(task) if task else []:
            if name.lower() not in spans:
                problems.append(
                    f"{where}:{number}: `### Task {task_id}: {rest}` does not name `{name}`, "
                    f'which task {task_id} in {metadata(exercise)} is about ("{task.title}"). '
                    "Put the task's own function in the heading, or reorder the headings to "
                    "follow exercise.toml."
                )
    return problems


def running_problems(exercise: catalog.Exercise, text: str) -> list[str]:
    where = rel(lesson(exercise))
    command = f"pytest exercises/{exercise.number:02d}"
    section = section_of(text, RUNNING_SECTION)
    problems = []
    if section and not any(in_code and line.strip() == command for _, line, in_code in section):
        problems.append(
            f"{where}:{section[0][0]}: `## {RUNNING_SECTION}` shows no `{command}`; put the "
            "command in a code block of its own, as exercise 01's lesson does."
        )
    if exercise.module_file not in text:
        problems.append(
            f"{where}: the lesson never names the file the learner edits, "
            f'`{exercise.module_file}`; say it in `## {RUNNING_SECTION}` ("Edit '
            f'`exercises/{exercise.name}/{exercise.module_file}` until they pass.").'
        )
    return problems


# --- the tests ----------------------------------------------------------------------------

IDS = [e.name for e in EXERCISES]


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_the_lesson_is_titled_as_in_its_metadata(exercise: catalog.Exercise) -> None:
    fail(title_problems(exercise, read(lesson(exercise))))


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_the_lesson_has_the_sections_in_order(exercise: catalog.Exercise) -> None:
    fail(section_problems(exercise, read(lesson(exercise))))


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_the_lesson_has_one_heading_per_task_in_order(exercise: catalog.Exercise) -> None:
    fail(task_problems(exercise, read(lesson(exercise))))


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_the_lesson_says_how_to_run_the_tests(exercise: catalog.Exercise) -> None:
    fail(running_problems(exercise, read(lesson(exercise))))


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_the_stub_docstring_names_its_own_exercise(exercise: catalog.Exercise) -> None:
    stub = exercise.folder / exercise.module_file
    first = read(stub).lstrip().splitlines()[0] if read(stub).strip() else ""
    match = re.match(r'^[rRbBuU]?("""|\'\'\')\s*Exercise (\d+)\b', first)
    if match and int(match.group(2)) != exercise.number:
        fail(
            [
                f"{rel(stub)}:1: the docstring says exercise {match.group(2)}, but this is "
                f"exercise {exercise.number:02d}; fix the number (and the same line in "
                f"src/aiokata/stubs/{exercise.name}/{exercise.module_file})."
            ]
        )


def _texts_that_refer() -> list[Path]:
    files = [KIT / "README.md"]
    for exercise in EXERCISES:
        files += [
            lesson(exercise),
            exercise.folder / exercise.module_file,
            exercise.folder / catalog.METADATA,
        ]
    return files


REFERRING = _texts_that_refer()


@pytest.mark.parametrize("path", REFERRING, ids=[rel(p) for p in REFERRING])
def test_references_to_exercises_name_ones_that_exist(path: Path) -> None:
    fail(reference_problems(path, read(path)))


LINKED = [KIT / "README.md", *(lesson(e) for e in EXERCISES)]


@pytest.mark.parametrize("path", LINKED, ids=[rel(p) for p in LINKED])
def test_relative_links_point_to_files_that_exist(path: Path) -> None:
    fail(link_problems(path, read(path)))


# --- the checks themselves: what they catch and what they leave alone ---------------------


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("a structured alternative you will meet in exercise 11", [11]),
        ("Exercise 08: asyncio.wait. Read README.md", [8]),
        ("exercises 11 and 13 build on it", [11, 13]),
        ("exercises 11, 13 and 14", [11, 13, 14]),
        ("exercises 11-13", [11, 12, 13]),
        ("exercise 07's tool", [7]),
        ("see exercises/14_queues/README.md", [14]),
        ("exercises/14_... comes later", [14]),
        ("run `pytest exercises/05` again", [5]),
        ("`aiokata hint 14` reveals", [14]),
        ("aiokata grade submissions/alice -e 03", [3]),
        ("for bounded queues, see 14", [14]),
        ("in 16 you will use executors", [16]),
        ("and moves on to 02 once everything passes", [2]),
        ("then it moves on to 13", [13]),
        ("| 01_coroutines | 17 | 0.87 |", [1]),
        ("3 seconds, in 10 seconds, wait 16 s, exercise 2 s", []),
        ("at loop time 10.25, 10,000 lines, 86,400 s, Python 3.11, from 09:00", []),
        ("the exercises from 226 tests to 500, in 12 steps, to 10 s, up to 40 of them", []),
        ("| 11 | task_groups | `TaskGroup` | planned |", []),
        ("count = 12_000, test_12_thing, return x * x", []),
    ],
)
def test_the_reference_finder(text: str, numbers: list[int]) -> None:
    assert [value for _, _, value, _ in references(text)] == numbers


def _demo_exercise() -> catalog.Exercise:
    return BY_NUMBER.get(1) or EXERCISES[0]


def test_a_broken_lesson_is_reported_with_file_line_and_remedy() -> None:
    exercise = _demo_exercise()
    good = read(lesson(exercise))
    assert not title_problems(exercise, good)
    lines = good.splitlines()
    tasks_at = lines.index("## The tasks")
    broken = "\n".join(
        ["# 01 · Something else", *lines[1:tasks_at], "## Your tasks", *lines[tasks_at + 1 :]]
    ).replace("### Task 2:", "### Task 2 ·")
    (title,) = title_problems(exercise, broken)
    assert title.startswith(f"{rel(lesson(exercise))}:1:") and "make it" in title
    sections = "\n".join(section_problems(exercise, broken))
    assert f":{tasks_at + 1}: `## Your tasks` is not one of" in sections
    assert "no `## The tasks` section; add it after `## A worked example" in sections
    tasks = "\n".join(task_problems(exercise, broken))
    assert "outside `## The tasks`" in tasks and "numbered []" in tasks


def test_wrong_task_headings_are_reported() -> None:
    exercise = _demo_exercise()
    good = read(lesson(exercise))
    assert not task_problems(exercise, good)
    first, second = exercise.tasks[0], exercise.tasks[1]
    swapped = good.replace("### Task 1:", "### Task X:").replace("### Task 2:", "### Task 1:")
    swapped = swapped.replace("### Task X:", "### Task 2:")
    problems = "\n".join(task_problems(exercise, swapped))
    assert "numbered [2, 1," in problems
    for task in (first, second):
        for name in named_in_title(task):
            assert f"does not name `{name}`" in problems
    dropped = "\n".join(task_problems(exercise, good.replace("### Task 2:", "### Step 2:")))
    assert "numbered [1, 3" in dropped and f"task 2: {second.title}" in dropped


def test_a_missing_run_command_and_file_are_reported() -> None:
    exercise = _demo_exercise()
    good = read(lesson(exercise))
    assert not running_problems(exercise, good)
    command = f"pytest exercises/{exercise.number:02d}"
    broken = good.replace(f"\n{command}\n", "\npytest\n").replace(exercise.module_file, "it")
    problems = "\n".join(running_problems(exercise, broken))
    assert f"shows no `{command}`" in problems and "never names the file" in problems


def test_dead_references_and_links_are_reported() -> None:
    path = lesson(_demo_exercise())
    missing = next(n for n in range(1, 100) if n not in BY_NUMBER)
    text = f"intro\nsee exercise {missing:02d}, and [the notes](notes/missing.md)\n"
    (reference,) = reference_problems(path, text)
    assert reference.startswith(f"{rel(path)}:2: `exercise {missing:02d}` names exercise")
    assert "Reword it" in reference
    (link,) = link_problems(path, text)
    assert link.startswith(f"{rel(path)}:2: the link [the notes](notes/missing.md)")
    assert "does not exist" in link
    exercise = EXERCISES[0]
    wrong_slug = f"exercises/{exercise.number:02d}_nope/nope.py"
    (slug,) = reference_problems(path, wrong_slug)
    assert f"is {exercise.name}" in slug
    (fragment,) = link_problems(KIT / "README.md", "[x](#no-such-heading)")
    assert "#no-such-heading" in fragment
