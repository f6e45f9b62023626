"""The package's layers: every module imports only from layers below its own, or from its own layer.

    errors, strokes, device, config, native  ->  io, data  ->  raster  ->  models  ->  baselines, encoding, evaluation,
    training  ->  api, commands  ->  cli

(`docs/design.md` says what each holds.) The test reads every module's imports, lazy ones inside functions
included, so an upward import cannot hide in a function body.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mnistvec

PACKAGE = Path(mnistvec.__file__).parent

LAYERS = [
    ["mnistvec.errors", "mnistvec.weights"],
    ["mnistvec.strokes", "mnistvec.device", "mnistvec.config", "mnistvec.native"],
    ["mnistvec.io"],
    ["mnistvec.data"],
    ["mnistvec.raster"],
    ["mnistvec.models"],
    ["mnistvec.baselines"],
    ["mnistvec.encoding"],
    ["mnistvec.evaluation"],
    ["mnistvec.training"],
    ["mnistvec.api"],
    ["mnistvec.commands"],
    ["mnistvec.cli", "mnistvec.__main__"],
]
"""Lowest first. A module may import its own unit (the package or module named here) and the units of
earlier entries, never a later one."""

RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def unit_of(module: str) -> str | None:
    """The layer unit a dotted module name belongs to (its longest prefix listed in LAYERS)."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in RANK:
            return ".".join(parts[:end])
    return None


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in `path`, relative ones resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from mnistvec import models` imports the subpackage `mnistvec.models`
            found += [
                (node.lineno, f"{target}.{alias.name}" if unit_of(f"{target}.{alias.name}") else target)
                for alias in node.names
            ]
    return [(line, target) for line, target in found if target.startswith("mnistvec.")]  # the root gives only
    # `__version__` to modules (its API names load lazily, see the last test)


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if module_name(p) != "mnistvec")


def test_every_module_belongs_to_a_layer():
    assert [module_name(p) for p in modules() if unit_of(module_name(p)) is None] == []


def test_no_module_imports_from_a_layer_above_its_own():
    upward = []
    for path in modules():
        unit = unit_of(module_name(path))
        for line, target in imports(path):
            target_unit = unit_of(target)
            if target_unit is None or RANK[target_unit] > RANK[unit]:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {unit} imports {target}")
    assert upward == []


def test_the_top_level_package_loads_nothing_until_asked():
    """`import mnistvec` stays cheap (the API's names load on first use), so commands start fast."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    top_imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert all(
        not (isinstance(n, ast.ImportFrom) and (n.level or (n.module or "").startswith("mnistvec")))
        for n in top_imports
    )
