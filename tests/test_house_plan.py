"""The house plan holds: packages by stage, each importing only those below it; nobody
imports another module's private names; imports of graphfraud's own modules sit at the top
of a module (only optional extras — igraph, pyvis, the Neo4j driver — are loaded inside the
function that needs them)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "graphfraud"

#: a package may import packages of its own rank or lower
RANK = {"core": 0, "store": 1, "ingest": 2, "synth": 3, "detect": 3, "views": 4, "evidence": 5, "neo4j": 6,
        "workbench": 7, "cli": 8, "demo": 8, "__main__": 8, "__init__": 0}


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        yield ".".join(("graphfraud", *rel.parts)).removesuffix(".__init__"), rel.parts[0], path


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "graphfraud" else None


def test_packages_import_only_downward():
    wrong = []
    for name, top, path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("graphfraud."):
                target = _package_of(node.module)
                if target in RANK and RANK[target] > RANK[top]:
                    wrong.append(f"{name} imports {node.module}")
    assert not wrong, "\n".join(wrong)


def test_no_module_imports_another_modules_private_names():
    wrong = []
    for name, _, path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("graphfraud"):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        wrong.append(f"{name} imports {node.module}.{alias.name}")
    assert not wrong, "\n".join(wrong)


def test_the_stages_import_each_other_at_the_top_of_a_module():
    """No function-local import of another graphfraud module (which hides a cycle or a layer
    break), the command line included."""
    wrong = []
    for name, top, path in _modules():
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("graphfraud"):
                        wrong.append(f"{name}.{fn.name} imports {node.module} inside the function")
    assert not wrong, "\n".join(wrong)
