"""The kit's own clocks, out of reach of tests that fake time.

A test may replace `time.perf_counter` and `time.monotonic` (exercise 23's wall clock ties them
to the loop's clock), and freezegun replaces every module attribute that is one of those
functions. The guards time each loop step with these instead: bound at import, inside a
`partial` that freezegun's scan does not recognise. With the faked clock, a step that ended
after the test put the real one back seemed to last as long as the machine had been up, and
was called a stall whenever that step also switched threads.
"""

from __future__ import annotations

import functools
import time

perf_counter = functools.partial(time.perf_counter)
monotonic = functools.partial(time.monotonic)
