"""Where the plugin keeps what it knows about each exercise test (pytest's stash), so that the
modules reading it need not import the plugin."""

from __future__ import annotations

import pytest

from aiokata import catalog, guards

EXERCISE = pytest.StashKey[catalog.Exercise]()
FINDINGS = pytest.StashKey[guards.Findings]()
