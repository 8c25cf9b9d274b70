"""The `aiokata` command: its group, `help`, and every verb, from the modules that hold
them (learner.py, watching.py, instructor.py, grading/bundle.py, authoring.py)."""

from __future__ import annotations

import click

from aiokata.terminal import HELP_OPTIONS, Problem


@click.group(invoke_without_command=True, context_settings=HELP_OPTIONS)
@click.version_option(package_name="aiokata")
@click.pass_context
def main(ctx: click.Context) -> None:
    """aiokata: learn asyncio by making failing tests pass.

    With no command, shows where you stand and what to do next.

    \b
    Examples:
      aiokata                 your progress and the next exercise
      aiokata watch           rerun the next exercise's tests on every save
      aiokata hint 03         one more hint for exercise 03
      aiokata grade subs/*    (instructors) score every submission in subs/
      aiokata help watch      how one command works (or: aiokata watch -h)
    """
    if ctx.invoked_subcommand is None:
        from aiokata.learner import status

        status()


@main.command("help")
@click.argument("command", required=False)
@click.pass_context
def help_command(ctx: click.Context, command: str | None) -> None:
    """Show how aiokata, or one of its commands, is used.

    \b
    Examples:
      aiokata help
      aiokata help hint
    """
    group = ctx.parent.command if ctx.parent else main
    if command is None:
        click.echo(group.get_help(ctx.parent or ctx))
        return
    found = main.get_command(ctx, command)
    if found is None:
        known = ", ".join(main.list_commands(ctx))
        raise Problem(f"no command {command!r}; the commands are {known}")
    with click.Context(found, info_name=command, parent=ctx.parent) as sub:
        click.echo(found.get_help(sub))


def _register() -> None:
    from aiokata import authoring, instructor, learner, watching
    from aiokata.grading.bundle import bundle

    for command in (
        learner.list_command,
        learner.check,
        watching.watch,
        learner.hint,
        learner.reset,
        learner.restore,
        learner.solution,
        instructor.grade,
        instructor.report,
        bundle,
        authoring.new,
        authoring.prove,
    ):
        main.add_command(command)


_register()
