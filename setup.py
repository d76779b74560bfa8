"""Build hook: ship the dbt project inside the wheel (pyproject.toml holds everything else).

A wheel gets ``flopwatt/dbt_project/`` with dbt_project.yml, profiles.yml, models_sql/, macros/
and tests/dbt/, so an installed ``flopwatt build`` finds its models (flopwatt.core.config).
An editable install skips the copy: a checkout uses the project in place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DBT_FILES = ("dbt_project.yml", "profiles.yml")
DBT_DIRS = ("models_sql", "macros", "seeds", "tests/dbt")


class BuildPyWithDbtProject(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        dest = Path(self.build_lib) / "flopwatt" / "dbt_project"
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        for name in DBT_FILES:
            shutil.copy2(ROOT / name, dest / name)
        for name in DBT_DIRS:
            if (ROOT / name).is_dir():
                shutil.copytree(
                    ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__")
                )


setup(cmdclass={"build_py": BuildPyWithDbtProject})
