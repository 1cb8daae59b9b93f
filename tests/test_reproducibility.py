"""REPRODUCIBILITY.md is what `benchmarks/quality_table.py` renders from the presets' metadata."""

import importlib.util
import pathlib

import pytest

import artifex_keras as ak
from artifex_keras.data.audio import SPEECH_DATASETS
from artifex_keras.data.text import list_text_datasets
from artifex_keras.data.toy import TOY_DATASETS
from artifex_keras.data.translation import list_translation_datasets

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
    """Image generators record sample metrics (translators: of their test translations), 2-D density models
    sample distances; autoregressive models (text, audio, and images until their samples are evaluated) the
    exact held-out likelihood training records."""
    for name in ak.list_presets():
        metadata = ak.preset_metadata(name)
        data = metadata.get("training", {}).get("data")
        if data in SPEECH_DATASETS:
            assert "nll_nats" in metadata["metrics"], name
            continue
        if data in list_text_datasets():
            assert {"bits_per_character", "nll_nats_per_token", "perplexity"} <= metadata["metrics"].keys(), name
            continue
        if data in list_translation_datasets():
            # Image-to-image presets: training records the sample metrics of their test translations.
            assert {"fd", "kid", "floor"} <= metadata["metrics"].keys(), name
            continue
        if metadata["family"] == "autoregressive" and "evaluation" not in metadata:
            # Sampling an image pixel by pixel is slow on a CPU: the exact likelihood is the recorded metric.
            assert "nll_nats" in metadata["metrics"], name
            continue
        evaluation = metadata.get("evaluation")
        assert evaluation, f"{name}: run python benchmarks/quality_table.py --refresh {name}"
        for key in ("command", "backend", "device", "versions", "metrics"):
            assert key in evaluation, (name, key)
        if metadata["family"] == "feature_extractor":
            continue
        expected = {"energy_distance", "mmd", "sliced_wasserstein"} if data in TOY_DATASETS else {"fd", "kid"}
        assert expected | {"floor"} <= evaluation["metrics"].keys(), name
