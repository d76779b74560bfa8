"""Spark tests take minutes (JVM starts, dbt on two engines): they run when asked for.

They run with ``-m spark`` (as ``.ci/spark`` does) or ``FLOPWATT_SPARK_TESTS=1``; a plain
``pytest`` reports them as skipped, so the default suite stays fast even with pyspark installed.
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if "spark" in (config.getoption("markexpr") or "") or os.environ.get("FLOPWATT_SPARK_TESTS"):
        return
    skip = pytest.mark.skip(
        reason="Spark parity: run with -m spark, .ci/spark or FLOPWATT_SPARK_TESTS=1"
    )
    for item in items:
        if item.get_closest_marker("spark") is not None:
            item.add_marker(skip)
