"""Dependencies: floors above known vulnerabilities, installs from hash-checked locks,
and an image whose base cannot move under it."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Versions that fix a known vulnerability (the floor must be at least this).
FIXED_IN = {
    "aiohttp": "3.12.14",  # request smuggling: CVE-2024-52304 (3.10.11), CVE-2025-53643
    "python-json-logger": "3.2.1",  # CVE-2025-27607 (3.2.0 pulled a squatted package)
}


def locked(name: str) -> dict[str, Version]:
    """Package → version pinned by a lock file for this interpreter and platform (the
    locks hold every platform's, under markers); every pin must carry a hash."""
    pins: dict[str, Version] = {}
    text = (ROOT / name).read_text()
    for block in re.split(r"\n(?=[^\s#])", text):
        if block.startswith("#") or not block.strip():
            continue
        pin = Requirement(block.split("\\", 1)[0].strip())
        assert "--hash=sha256:" in block, f"{pin.name} has no hash in {name}"
        [spec] = pin.specifier
        assert spec.operator == "==", block
        if pin.marker is None or pin.marker.evaluate():
            pins[canonicalize_name(pin.name)] = Version(spec.version)
    assert pins, name
    return pins


def requirements(*extras: str) -> list[Requirement]:
    found = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in extras:
        found += [Requirement(r) for r in PROJECT["optional-dependencies"][extra]]
    return found


@pytest.mark.parametrize(("package", "fixed"), FIXED_IN.items())
def test_dependency_floors_exclude_versions_with_known_vulnerabilities(
    package: str, fixed: str
) -> None:
    [requirement] = [r for r in requirements() if r.name == package]
    lowest = min((Version(s.version) for s in requirement.specifier if s.operator == ">="),
                 default=None)
    assert lowest is not None, f"{package} has no floor"
    assert lowest >= Version(fixed)


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ()),
                                                ("requirements-dev.lock", ("embedded", "dev"))])
def test_each_lock_pins_every_dependency_with_hashes_within_its_range(
    lock: str, extras: tuple[str, ...]
) -> None:
    pins = locked(lock)
    for requirement in requirements(*extras):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} missing from {lock}"
        assert requirement.specifier.contains(pins[name]), (name, pins[name])


def test_the_dev_lock_has_the_images_versions() -> None:
    image, dev = locked("requirements.lock"), locked("requirements-dev.lock")
    assert {n: v for n, v in dev.items() if n in image} == image


def test_this_environment_was_installed_from_the_dev_lock() -> None:
    differing = {}
    for name, pinned in locked("requirements-dev.lock").items():
        try:
            installed = Version(version(name))
        except PackageNotFoundError:
            continue  # a platform-specific pin (markers) not for this machine
        if installed != pinned:
            differing[name] = (str(installed), str(pinned))
    assert not differing


def test_ci_and_the_image_install_from_the_locks_and_the_base_image_is_pinned() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements-dev.lock" in makefile
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    assert "--require-hashes --prefix=/install -r requirements.lock" in dockerfile
    bases = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert bases
    for base in bases:
        assert re.search(r"@sha256:[0-9a-f]{64}$", base), f"{base} is not pinned by digest"
