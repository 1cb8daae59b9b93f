"""REPRODUCIBILITY.md is what `benchmarks/quality_table.py` renders from the presets' metadata."""

import importlib.util
import pathlib

import pytest

import artifex_keras as ak

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _quality_table():
    spec = importlib.util.spec_from_file_location("quality_table", ROOT / "benchmarks" / "quality_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.jax_only
def test_reproducibility_table_is_up_to_date():
    table = _quality_table()
    rendered = table.render([table.row(name) for name in ak.list_presets()])
    assert (ROOT / "REPRODUCIBILITY.md").read_text() == rendered, "run: python benchmarks/quality_table.py"


def test_every_shipped_preset_has_a_recorded_evaluation():
    for name in ak.list_presets():
        evaluation = ak.preset_metadata(name).get("evaluation")
        assert evaluation, f"{name}: run python benchmarks/quality_table.py --refresh {name}"
        for key in ("command", "backend", "device", "versions", "metrics"):
            assert key in evaluation, (name, key)
        if ak.preset_metadata(name)["family"] != "feature_extractor":
            metrics = evaluation["metrics"]
            assert {"fd", "kid", "precision", "recall", "floor"} <= metrics.keys(), name
