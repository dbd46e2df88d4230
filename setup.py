"""Builds the C hot path (native/) as an optional cffi extension; everything else is in pyproject.toml.

Optional: on a board without a compiler the install still succeeds and the pure-Python
twin serves; `appliance --version` says which one is active, and `make test` refuses a
build where the C module did not load (APPLIANCE_REQUIRE_NATIVE=1).
"""

import runpy
from pathlib import Path

from setuptools import setup

here = Path(__file__).resolve().parent
ffibuilder = runpy.run_path(str(here / "native" / "build.py"))["builder"](relative_to=here)
extension = ffibuilder.distutils_extension(tmpdir="build/cffi")
extension.optional = True

setup(ext_modules=[extension])
