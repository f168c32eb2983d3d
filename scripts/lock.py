"""Writes the two lock files from what is installed in the running environment (make lock):

- requirements.lock: everything production needs, the packages of requirements.txt and all they pull in
  (what the Docker image installs);
- requirements-dev.lock: what only development needs on top, the packages of requirements-dev.txt and
  all they pull in that production does not (tests, benchmarks, lint).

Each line is NAME==VERSION, as `pip freeze` writes it and in its order; both files together are a
complete freeze, so `pip install --no-deps` of them needs no resolving. The packages of
requirements-nodeps.txt are installed without their declared dependencies and are in neither lock.
Run it after `pip install -r requirements.txt -r requirements-dev.txt` (make lock does both).
"""
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Dict, Iterable, List, Set

from packaging.requirements import Requirement

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Installed with the interpreter's own tools; pinned with production as `pip freeze --all` did.
ALWAYS_PRODUCTION = ("setuptools", "wheel")
NEVER = ("pip",)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed() -> Dict[str, metadata.Distribution]:
    return {canonical(dist.metadata["Name"]): dist for dist in metadata.distributions()}


def direct(path: Path) -> List[str]:
    """The package names a requirements file lists (its -r includes left out)."""
    names = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(canonical(Requirement(line).name))
    return names


def closure(roots: Iterable[str], dists: Dict[str, metadata.Distribution], skip: Set[str]) -> Set[str]:
    """The roots and everything they require, with the extras asked for (markers evaluated here), among
    the installed packages."""
    seen: Set[str] = set()
    done: Set[tuple] = set()
    stack = [(root, "") for root in roots if root not in skip]
    while stack:
        name, extra = stack.pop()
        if (name, extra) in done:
            continue
        if name not in dists:
            raise SystemExit(f"{name} is required but not installed: make lock installs the requirements first")
        done.add((name, extra))
        seen.add(name)
        for text in dists[name].requires or []:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
                continue
            if extra and requirement.marker is None:
                continue  # asked for with an extra: only what that extra adds
            child = canonical(requirement.name)
            if child not in skip:
                stack += [(child, "")] + [(child, child_extra) for child_extra in sorted(requirement.extras)]
    return seen


def freeze_lines(names: Iterable[str], dists: Dict[str, metadata.Distribution]) -> str:
    return "".join(f"{dists[name].metadata['Name']}=={dists[name].version}\n" for name in sorted(names))


def main() -> int:
    dists = installed()
    no_deps = set(direct(PROJECT_DIR / "requirements-nodeps.txt"))
    skip = no_deps | set(NEVER)
    production = closure([*direct(PROJECT_DIR / "requirements.txt"), *ALWAYS_PRODUCTION], dists, skip)
    development = closure(direct(PROJECT_DIR / "requirements-dev.txt"), dists, skip) - production
    (PROJECT_DIR / "requirements.lock").write_text(freeze_lines(production, dists))
    (PROJECT_DIR / "requirements-dev.lock").write_text(freeze_lines(development, dists))
    left_over = set(dists) - production - development - skip
    print(f"requirements.lock: {len(production)} packages; requirements-dev.lock: {len(development)} packages.")
    if left_over:
        print("Installed but required by neither (not locked): " + ", ".join(sorted(left_over)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
