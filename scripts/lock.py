#!/usr/bin/env python
"""Write constraints.txt: the exact versions, from this environment, of tmpsim's dependency tree.

Usage (from the repository root, after ``./scripts/setup dev`` and a passing ``./scripts/test``)::

    .venv/bin/python scripts/lock.py            # rewrite constraints.txt
    .venv/bin/python scripts/lock.py --check    # exit 1 if this environment differs from it

The tree is read from pyproject.toml (the base dependencies and every extra) and followed through
the installed packages' metadata; packages of the environment outside it (pip itself, anything
installed by hand) are left out. ``./scripts/setup`` and so ``.ci/run`` install with
``pip install -c constraints.txt``: the versions the tests passed with. ``--check`` allows extras
that are not installed, as long as what they need is pinned.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "constraints.txt"
HEADER = """\
# Exact versions of tmpsim's dependencies (all extras) that its tests pass with.
# Used by scripts/setup (pip install -c constraints.txt). Regenerate from a working .venv:
#   .venv/bin/python scripts/lock.py
"""


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def project_requirements() -> tuple[str, list[Requirement]]:
    """The project's name and its requirements: base and every extra, own extras resolved."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    reqs = [Requirement(r) for r in project.get("dependencies", [])]
    for group in project.get("optional-dependencies", {}).values():
        reqs += [Requirement(r) for r in group]
    own = canonical(project["name"])
    return own, [r for r in reqs if canonical(r.name) != own]


def applies(req: Requirement, extras: set[str]) -> bool:
    """Whether a requirement's marker holds here, for a package installed with ``extras``."""
    if req.marker is None:
        return True
    env = default_environment()
    return any(req.marker.evaluate({**env, "extra": e}) for e in (extras or {""}))


def pinned_tree() -> tuple[dict[str, str], set[str]]:
    """Installed name -> version for every package the requirements reach, and those missing."""
    own, todo = project_requirements()
    seen: dict[str, set[str]] = {}
    versions: dict[str, str] = {}
    missing: set[str] = set()
    while todo:
        req = todo.pop()
        key = canonical(req.name)
        extras = set(req.extras)
        if key == own or (key in seen and extras <= seen[key]):
            continue
        seen[key] = seen.get(key, set()) | extras
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            missing.add(key)
            continue
        versions[dist.metadata["Name"]] = dist.version
        for text in dist.requires or []:
            sub = Requirement(text)
            if applies(sub, extras):
                todo.append(sub)
    return versions, missing


def problems(text: str, versions: dict[str, str], missing: set[str]) -> list[str]:
    """How a constraints file disagrees with this environment (extras not installed allowed)."""
    pins = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonical(name)] = version.strip()
    found = []
    for name, version in versions.items():
        pinned = pins.get(canonical(name))
        if pinned != version:
            found.append(f"{name}: installed {version}, pinned {pinned or 'nowhere'}")
    for name in sorted(missing - set(pins)):
        found.append(f"{name}: required, neither installed nor pinned")
    return found


def render(versions: dict[str, str]) -> str:
    """The constraints file's text."""
    lines = [f"{name}=={versions[name]}" for name in sorted(versions, key=canonical)]
    return HEADER + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write constraints.txt, or with --check compare it with this environment."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    versions, missing = pinned_tree()
    if args.check:
        found = problems(OUT.read_text("utf-8") if OUT.is_file() else "", versions, missing)
        print(f"{OUT.name}: " + ("agrees with this environment" if not found else "differs:"))
        for line in found:
            print("   ", line)
        return 1 if found else 0
    if missing:
        sys.exit(f"not installed: {', '.join(sorted(missing))}; run ./scripts/setup dev first")
    text = render(versions)
    OUT.write_text(text, "utf-8")
    print(f"{OUT.name}: {len(versions)} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
