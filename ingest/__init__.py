"""Ingest: one module per input format, all through ingest.loader."""
