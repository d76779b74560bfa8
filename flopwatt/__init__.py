"""flopwatt: energy and carbon per inference of deep-learning models."""

from flopwatt.core import __version__

__all__ = ["__version__"]
