"""Programs the tests take from Debian's packages (.ci/run installs them)."""

from __future__ import annotations

import shutil

import pytest


def binary(name: str, package: str) -> str:
    """The path of ``name``; missing, the test fails and says what to install (a skip
    would let CI pass without running it)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install {package} (see .ci/run)")
    return path
