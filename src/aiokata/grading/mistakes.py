"""What kind of mistake a failure message names, so that a class's failures can be grouped.

The kit's messages say what happened, then why: "fetch_all took 5 s of loop time; expected
3 s. They ran one after another: ...". Two submissions with the same mistake get the same
message but for what differs on every run or machine: numbers (loop times, line numbers,
process ids, ports), memory addresses and paths. `mistake_key` takes those out; when the
message's first sentence only reports what was observed (expected this, got that), the key is
the explanation after it, which names the mistake however the numbers came out.
"""

from __future__ import annotations

import re
from functools import lru_cache

from aiokata.grading.untrusted import clean, headline

KEY_LIMIT = 400  # characters of a key: enough to tell mistakes apart, bounded for 1,000 groups

_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")
# An absolute path (or ~/...), up to the next space, quote or bracket: where the kit or the
# submission happens to live.
_PATH = re.compile(r"(?<![\w.])(?:~|/)[^\s'\"`()\[\]{}<>,:;]*[/.][^\s'\"`()\[\]{}<>,:;]*")
# A number standing on its own (with a unit stuck to it: 5s, 10ms, 3x), not the 01 of
# 01_coroutines or the 2 of h2.
_NUMBER = re.compile(r"(?<![\w])[-+]?\d+(?:[.,]\d+)*(?:e[-+]?\d+)?(?:ms|s|x|[KMG]iB)?(?![\w])")
# "...: expected X, got Y." and "... took 5 s; expected 3 s.": the observation is the
# sentence that holds the first of these words.
_OBSERVED = re.compile(r"\b(?:expected|got)\b")
_OPENING, _CLOSING = "([{<", ")]}>"
# Where the message was raised ("03_tasks/tasks.py:40: fetch_all() is not written yet"): a
# place in the learner's file, not part of the mistake.
_LOCATION = re.compile(r"^[\w./-]+\.py:\d+:\s+")


def normalise(text: str) -> str:
    """`text` without what varies between submissions making the same mistake."""
    text = _ADDRESS.sub("0x…", clean(text))
    text = _PATH.sub("<path>", text)
    text = _NUMBER.sub("#", text)
    return " ".join(text.split())


def _observation_end(line: str) -> int | None:
    """Where the sentence saying what was expected and what came back ends, or None. Values
    in it are reprs ('Dr. Who', <Task at 0x...>, [1, 2]): a full stop inside quotes or
    brackets ends nothing."""
    word = _OBSERVED.search(line)
    if word is None:
        return None
    depth, quote, place = 0, "", word.end()
    while place < len(line):
        char = line[place]
        if quote:
            if char == "\\":
                place += 1  # an escaped character in a repr
            elif char == quote:
                quote = ""
        elif char in "'\"" and not line[place - 1].isalnum():  # not an apostrophe (loop's)
            quote = char
        elif char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            depth = max(depth - 1, 0)
        elif char in ".!?" and depth == 0 and line[place + 1 : place + 2].isspace():
            return place + 1
        place += 1
    return None


@lru_cache(maxsize=4096)  # a submission's failing tests often share one message
def explanation(message: str) -> str:
    """The part of the message's headline that names the mistake: after a first sentence that
    only says what was expected and what came back, the rest; else the whole headline."""
    line = _LOCATION.sub("", headline(message))
    end = _observation_end(line)
    rest = line[end:].strip() if end is not None else ""
    return rest or line


def mistake_key(message: str, status: str = "fail") -> str:
    """Equal for the same mistake in different submissions' messages, whatever the numbers."""
    said = normalise(explanation(message)) or f"({status}, no message)"
    return said[:KEY_LIMIT]


# What a submission's notes, and the messages of its tests, say went wrong around the tests
# (not a wrong answer): checked in order, the first match names the kind.
NOTE_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "stray processes",
        re.compile(r"left \d+ process|still running after its tests|subprocess \d+ is still run"),
    ),
    ("files over the limit", re.compile(r"larger than|File too large")),
    ("out of memory", re.compile(r"MemoryError")),
    ("out of time", re.compile(r"reached its limit of")),
    ("forged results", re.compile(r"results channel carried|not this test's own")),
    ("files not handed in", re.compile(r"not in the submission|no exercise files found")),
    ("symbolic links", re.compile(r"symbolic link")),
    ("odd files", re.compile(r"not a file|changed while")),
    ("grader trouble", re.compile(r"grader could not|grading process")),
)
OTHER_NOTES = "other notes"
# Of those, the kinds a test's own message can reveal (the rest are only ever notes).
IN_MESSAGES = ("stray processes", "files over the limit", "out of memory", "forged results")


def note_kind(text: str) -> str:
    return next((kind for kind, pattern in NOTE_KINDS if pattern.search(text)), OTHER_NOTES)


@lru_cache(maxsize=4096)
def message_kinds(message: str) -> frozenset[str]:
    """The note kinds (stray processes, a file over the limit...) a test's message reveals."""
    return {kind for kind, pattern in NOTE_KINDS if kind in IN_MESSAGES and pattern.search(message)}
