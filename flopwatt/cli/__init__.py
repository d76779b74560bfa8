"""The ``flopwatt`` command: a thin front over ingest/, dbt, profiling/ and plots/.

Subcommands live in their own modules and are imported only when used, so ``flopwatt status``
never pays for torch or plotnine.
"""

from __future__ import annotations

import importlib
import sys

import click

from flopwatt import __version__

#: command name -> (module of flopwatt.cli that defines a click command of that name, its help)
COMMANDS = {
    "ingest": ("ingest", "Load files into the raw layer (power, runs, flops, ...)."),
    "build": ("warehouse", "Run dbt build against the configured database."),
    "status": ("warehouse", "What is loaded, and the last loads."),
    "sql": ("warehouse", "Run read-only SQL against the warehouse."),
    "profile": ("profile", "Count MACs/params/accuracy of torchvision models."),
    "bench": ("bench", "Time inference runs while sampling power."),
    "run": ("run", "The main job: profile, bench, ingest, build, report."),
    "report": ("report", "Fits, figures and report.html from the marts."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, _ = COMMANDS[name]
        return getattr(importlib.import_module(f"flopwatt.cli.{module}"), name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, help_) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="flopwatt")
def cli() -> None:
    """flopwatt: energy and carbon per inference, against FLOPs, parameters and accuracy.

    The warehouse is FLOPWATT_DB (default: flopwatt.duckdb in the workspace: FLOPWATT_HOME,
    else the checkout root, else the current directory).
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: expected failures print one clear line and exit 1 (2 for usage errors)."""
    from flopwatt.core.errors import FlopwattError

    try:
        cli.main(args=argv, prog_name="flopwatt", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except FlopwattError as exc:  # only the user-facing root: a bug keeps its traceback
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
