"""The package imports without circles, and a preset imports only the family it needs."""

import ast
import os
import pathlib
import subprocess
import sys

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "artifex_keras"


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports():
    """Every module's imports of other package modules, function-level imports included."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("artifex_keras"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    found.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.startswith("artifex_keras"))
        graph[name] = {module for module in found if module in modules and module != name}
    return graph


def _cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}

    def visit(module, path):
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return path[path.index(target) :] + [target]
            if target not in state:
                found = visit(target, path + [target])
                if found:
                    return found
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            found = visit(module, [module])
            if found:
                return found
    return None


def test_no_import_cycles():
    # The package root loads submodules lazily by name; it is not part of the graph's cycles.
    graph = {module: targets - {"artifex_keras"} for module, targets in _imports().items()}
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def _printed_values(code, count=1):
    """The Python values that `code`, run in a fresh interpreter, printed on its last `count` lines."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    return [ast.literal_eval(line) for line in out.strip().splitlines()[-count:]]


LOADED_MODELS = "print(sorted(m for m in sys.modules if m.startswith('artifex_keras.models.')))"


def test_a_preset_imports_only_its_family():
    (loaded,) = _printed_values("import sys, artifex_keras as ak; ak.from_preset('vae_fashion_mnist');" + LOADED_MODELS)
    assert "artifex_keras.models.vae.vae" in loaded
    assert not [module for module in loaded if module.startswith("artifex_keras.models.classifier")], loaded


def test_every_sampler_is_registered_without_importing_the_models():
    code = "import sys; from artifex_keras import samplers; print(samplers.list_samplers());" + LOADED_MODELS
    names, models = _printed_values(code, count=2)
    assert {"consistency", "ddim", "dpm_solver", "ode_euler", "pc", "top_k"} <= set(names), names
    assert models == [], models
