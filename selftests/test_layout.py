"""The package reads in the order a run flows: one folder a stage, each importing only the
stages before it (or itself), no import cycle, and one registry of call interfaces whose
entries are exactly the catalogue's ``api`` values."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

from anonmap.apis import registry
from anonmap.expect import catalogue

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "anonmap"
#: The stages, first first: a module may import its own stage and those before it.
STAGES = ("files", "host", "expect", "checks", "run", "apis", "results", "reporting", "scan", "plugin", "")
#: The top-level modules, each a stage of its own after every folder.
TOP = {"__init__": "", "__main__": "", "cli": "", "suite": ""}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("anonmap"):
            for alias in node.names:
                found.add(f"{node.module}.{alias.name}")
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("anonmap"))
    return found


def _modules() -> dict[str, Path]:
    return {_module(p): p for p in PACKAGE.rglob("*.py")}


def _stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) < 2:
        return ""
    return "" if parts[1] in TOP else parts[1]


def test_every_module_lives_in_a_stage_folder_or_is_the_command_line() -> None:
    stray = [m for m in _modules() if m.count(".") == 1 and m.split(".")[1] not in STAGES + tuple(TOP)]
    assert not stray, f"modules outside the stage folders {STAGES[:-1]}: {stray}"


def test_no_stage_imports_a_later_one() -> None:
    modules = _modules()
    upward = []
    for name, path in modules.items():
        mine = STAGES.index(_stage(name))
        for target in _imports(path):
            if target in modules and STAGES.index(_stage(target)) > mine:
                upward.append(
                    f"{name} imports {target} ({_stage(target) or 'top'} comes after {_stage(name)})"
                )
    assert not upward, "\n".join(sorted(upward))


def test_no_import_cycle() -> None:
    modules = _modules()
    # A module importing the package it lives in (its __init__) is how Python loads it, not a cycle.
    graph = {
        name: {t for t in _imports(path) if t in modules and t != name and not name.startswith(f"{t}.")}
        for name, path in modules.items()
    }
    graphlib.TopologicalSorter(graph).prepare()


def test_the_registry_has_one_entry_for_each_api_the_catalogue_declares() -> None:
    assert tuple(registry.APIS) == catalogue.apis()
    for name, entry in registry.APIS.items():
        assert entry.name == name
