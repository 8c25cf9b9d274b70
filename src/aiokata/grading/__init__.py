"""`aiokata grade`: grading submissions with the kit's tests (see docs/grading.md)."""
