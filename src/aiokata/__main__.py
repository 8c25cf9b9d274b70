"""`python -m aiokata` is the `aiokata` command."""

from aiokata.cli import main

main()
