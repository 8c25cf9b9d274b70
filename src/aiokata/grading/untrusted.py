"""Text a learner wrote (test output, failure messages, folder names), made safe to show: every
output format (formats.py) and the class report (report.py) read it through these."""

from __future__ import annotations

import re

# Terminal escape sequences first (stripping only their ESC would leave "[31m" litter), then
# what XML 1.0 forbids (C0 controls but tab/newline/return, lone surrogates, U+FFFE/U+FFFF)
# and C1 controls, which XML allows but some terminals obey.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_UNSAFE = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str) -> str:
    """`text` with nothing that could upset a terminal, an XML parser or a UTF-8 encoder."""
    return _UNSAFE.sub("", _ANSI.sub("", text))


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, saying how much was cut (printed output can be huge)."""
    return (
        text
        if len(text) <= limit
        else text[:limit] + f"\n... ({len(text) - limit} more characters cut)"
    )


def first_line(text: str) -> str:
    return next((line.strip() for line in clean(text).splitlines() if line.strip()), "")


def headline(message: str) -> str:
    """The line that says what went wrong: in a pytest traceback the first `E   ` line (the
    exception), not the first line (a file name); otherwise the first line."""
    for line in clean(message).splitlines():
        if line.startswith("E ") and line[1:].strip():
            return line[1:].strip()
    return first_line(message)
