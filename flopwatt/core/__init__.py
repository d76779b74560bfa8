"""The bottom layer: configuration, the warehouse connection, errors and vocabularies.

Nothing here imports another part of flopwatt (checked by import-linter, see pyproject.toml).
"""

__version__ = "0.1.0"
