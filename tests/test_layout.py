"""The package's shape (ARCHITECTURE.md): imports only go down, no cycles, no module past ~300 lines.

Layers, from the bottom:

    base        vsrgan/errors.py, vsrgan/version.py       import nothing of vsrgan
    io          vsrgan/io/         media in and out       may import base
    models      vsrgan/models/     the networks           may import base and io
    inference   vsrgan/inference/  running a model        may import base, io and models
    root        the other vsrgan/*.py: the jobs of the public API (upscale, batch) and metrics
                                                          may import everything above
    dataset     vsrgan/dataset/                           may import base, io, models, inference and root
    jobs        vsrgan/training/, vsrgan/evaluation/, vsrgan/benchmark/, vsrgan/cluster/
                                      may import all of the above, never each other
    cli         vsrgan/cli/, vsrgan/__main__.py   may import anything below
    api         vsrgan/__init__.py    may import anything but the CLI; nothing imports it

What may live at the package root (ROOT_MODULES): the public API and what every job shares
(errors, version, metrics, options, upscale, batch). Media code belongs in io/, model-running code in
inference/, each other job in its own subpackage.

Inside the core, the module graph decides the order; the test asks only that it has no cycle.
Lazy imports inside functions count: they are imports all the same.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "vsrgan"
MAX_LINES = 300
JOBS = ("training", "evaluation", "benchmark", "cluster")


def module_name(path: Path) -> str:
    parts = ["vsrgan", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def imports(name: str) -> set[str]:
    """The vsrgan modules ``name`` imports, relative imports resolved, ``from P import m`` as ``P.m`` when m is a module."""
    package = name if is_package(name) else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "vsrgan"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "vsrgan":
                continue
            submodules = {f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in MODULES}
            found |= submodules or {target}
            if len(submodules) < len(node.names):
                found.add(target)  # names from the module itself
    return {m for m in found if m != name}


GRAPH = {name: imports(name) for name in MODULES}


ROOT_MODULES = {"vsrgan", "vsrgan.__main__", "vsrgan.errors", "vsrgan.version", "vsrgan.metrics", "vsrgan.upscale", "vsrgan.batch", "vsrgan.options"}
BELOW = ("base", "io", "models", "inference", "root")  # each may import itself and those before it


def layer(name: str) -> str:
    parts = name.split(".")
    if name == "vsrgan":
        return "api"
    if parts[1] in ("cli", "__main__"):
        return "cli"
    if parts[1] in ("io", "models", "inference", "dataset", *JOBS):
        return parts[1]
    return "base" if parts[1] in ("errors", "version") else "root"


ALLOWED = {
    **{name: set(BELOW[: i + 1]) for i, name in enumerate(BELOW)},
    "dataset": {*BELOW, "dataset"},
    **{job: {*BELOW, "dataset", job} for job in JOBS},
    "cli": {*BELOW, "dataset", *JOBS, "cli"},
    "api": {*BELOW, "dataset", *JOBS},
}


def test_only_the_public_api_lives_at_the_root():
    root = {name for name, path in MODULES.items() if path.parent == ROOT and path.name != "__init__.py"} | {"vsrgan"}
    assert root <= ROOT_MODULES, f"{sorted(root - ROOT_MODULES)} belong in io/, inference/ or a job's subpackage (module docstring)"
    assert len(root) <= 10


def test_every_import_resolves_to_a_module():
    for name, targets in GRAPH.items():
        missing = targets - set(MODULES)
        assert not missing, f"{name} imports {missing}, which are not modules of vsrgan"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_only_go_down(name):
    for target in GRAPH[name]:
        assert layer(target) in ALLOWED[layer(name)], f"{name} ({layer(name)}) imports {target} ({layer(target)})"


def test_no_import_cycle():
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> None:
        if name in path:
            cycle = path[path.index(name):] + [name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        path.append(name)
        for target in sorted(GRAPH[name]):
            visit(target)
        path.pop()
        done.add(name)

    for name in sorted(MODULES):
        visit(name)


def test_no_module_past_the_size_limit():
    long = {name: n for name, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them): {long}"


def test_the_version_lives_in_one_module():
    holders = [name for name, p in MODULES.items() if "__version__ =" in p.read_text()]
    assert holders == ["vsrgan.version"]


def test_the_checker_sees_the_layers_and_imports():
    """The checker itself: layers as documented, lazy and relative imports resolved."""
    assert layer("vsrgan.training.loop") == "training" and layer("vsrgan.models.generator") == "models"
    assert layer("vsrgan.io.video") == "io" and layer("vsrgan.upscale") == "root" and layer("vsrgan.errors") == "base"
    assert "training" not in ALLOWED["evaluation"] and "cli" not in ALLOWED["api"] and "dataset" not in ALLOWED["root"]
    assert "inference" not in ALLOWED["io"] and "root" not in ALLOWED["inference"] and "models" in ALLOWED["inference"]
    assert "vsrgan.inference.device" in GRAPH["vsrgan.inference.upscaler"] and "vsrgan.dataset.manifest" in GRAPH["vsrgan.dataset.crops"]
    assert "vsrgan.io.video" in GRAPH["vsrgan.dataset.prepare"]  # a lazy import inside a function
    assert "vsrgan.io.frames" in GRAPH["vsrgan.dataset.degrade"]  # from .. import frames


def test_architecture_md_names_every_module():
    """ARCHITECTURE.md's package map matches the tree: every module is named there."""
    text = (ROOT.parent / "ARCHITECTURE.md").read_text()
    missing = [name for name in MODULES if name.rpartition(".")[2] not in text]
    assert not missing, f"ARCHITECTURE.md does not mention {missing}"
