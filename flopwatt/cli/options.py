"""Click options shared by several commands."""

from __future__ import annotations

import click

from flopwatt.core.defaults import DEFAULT_MODELS_HELP

#: the ``--models/-m`` option of ``flopwatt bench`` and ``flopwatt run``
models_option = click.option(
    "--models",
    "-m",
    multiple=True,
    help=f"torchvision model names, comma-separated or repeated [default: {DEFAULT_MODELS_HELP}]",
)
