"""Where compiled modules go when PYTHONDONTWRITEBYTECODE is set (common in containers).

pytest then rewrites the asserts of every module of every plugin's package (all of
hypothesis) afresh at each start: about 0.8 s of CPU for each `pytest exercises/NN`, and for
each run in a proof or a grading. Compiled files are kept in the kit's own `.aiokata/pycache`
instead, so nothing is written beside anyone's code. It has to happen before the plugin
imports hypothesis, which pytest does while it loads plugins, before any hook runs: so the
package does it as it is imported, when it can tell where the kit is.
"""

from __future__ import annotations

import os
import sys

FOLDER = os.path.join(".aiokata", "pycache")


def keep(folder: str) -> None:
    if sys.dont_write_bytecode and sys.pycache_prefix is None:
        sys.pycache_prefix = folder
        sys.dont_write_bytecode = False


def keep_in_source_kit() -> None:
    """When aiokata runs from a kit's own src/ (an editable install), keep them in that kit."""
    kit = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if os.path.isfile(os.path.join(kit, "pyproject.toml")) and os.path.isdir(
        os.path.join(kit, "exercises")
    ):
        keep(os.path.join(kit, FOLDER))
