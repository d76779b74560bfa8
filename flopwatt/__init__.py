"""flopwatt: energy and carbon per inference of deep-learning models."""

__version__ = "0.1.0"
