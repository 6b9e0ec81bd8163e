"""Mutation testing of one core module against its own tests: `python -m tests.mutation NAME`.

Which tests belong to which module is declared once, in `[tool.pipeline.mutation]` of
`pyproject.toml`; `core` runs them all. Each run works in a scratch copy of the project
(`.mutation/NAME/`, kept so `mutmut show <mutant>` can be run there), its `[tool.mutmut]`
section written for that module alone, so runs of different modules never share a directory.
Prints the score and the survivors; exits 1 when a module scores under the goal. Not in CI:
it takes minutes. Run it when you change a core module; survivors judged equivalent are listed,
with the reason, in `tests/mutation_equivalents.md`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / ".mutation"
COPIED = ("pipeline", "sql", "tests", "deploy", "config.yaml", "README.md")
GOAL = 0.90


@dataclass(frozen=True, slots=True)
class Target:
    """A module (or several) and the tests that are its specification."""

    name: str
    modules: tuple[str, ...]
    tests: tuple[str, ...]


def targets(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, Target]:
    """Every declared module, and `core`: all of them against all of their tests."""
    declared = tomllib.loads(pyproject.read_text())["tool"]["pipeline"]["mutation"]
    found = {
        name: Target(name, (entry["module"],), tuple(entry["tests"]))
        for name, entry in declared.items()
    }
    modules = tuple(m for t in found.values() for m in t.modules)
    tests = tuple(dict.fromkeys(x for t in found.values() for x in t.tests))
    return {**found, "core": Target("core", modules, tests)}


def mutmut_section(target: Target) -> str:
    """The `[tool.mutmut]` table for `target`."""
    return "\n".join(
        [
            "[tool.mutmut]",
            'source_paths = ["pipeline"]',
            f"only_mutate = {json.dumps(list(target.modules))}",
            'also_copy = ["sql", "deploy", "config.yaml", "README.md"]',
            f"pytest_add_cli_args_test_selection = {json.dumps(list(target.tests))}",
            "",
        ]
    )


def prepare(target: Target) -> Path:
    """A fresh scratch copy of the project, configured for `target`."""
    where = SCRATCH / target.name
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, where / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, where / name)
    pyproject = (ROOT / "pyproject.toml").read_text()
    (where / "pyproject.toml").write_text(f"{pyproject}\n{mutmut_section(target)}")
    return where


def survivors(where: Path) -> list[str]:
    """The surviving mutants' names, as `mutmut results` lists them."""
    listed = subprocess.run(
        [sys.executable, "-m", "mutmut", "results"],
        cwd=where, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [line.split(":")[0].strip() for line in listed.splitlines() if ": survived" in line]


def score(where: Path) -> dict[str, int]:
    """Killed, survived and the rest, from mutmut's own export."""
    subprocess.run(
        [sys.executable, "-m", "mutmut", "export-cicd-stats"],
        cwd=where, capture_output=True, check=True,
    )  # fmt: skip
    return json.loads((where / "mutants" / "mutmut-cicd-stats.json").read_text())


def main(argv: list[str] | None = None) -> int:
    known = targets()
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__)
    parser.add_argument("name", choices=sorted(known), help="a module, or core for all")
    args = parser.parse_args(argv)
    where = prepare(known[args.name])
    subprocess.run([sys.executable, "-m", "mutmut", "run"], cwd=where, check=True)
    stats = score(where)
    judged = stats["killed"] + stats["survived"]
    ratio = stats["killed"] / judged if judged else 1.0
    print(f"\n{args.name}: {stats['killed']} of {judged} killed ({ratio:.1%}); {stats}")
    for name in survivors(where):
        print(f"  survived: {name}  (cd {where} && mutmut show {name})")
    return 0 if ratio >= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
