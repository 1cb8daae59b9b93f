"""The shipped character-level Transformer: it loads with its tokenizer, scores held-out plays and writes text."""

import math

import pytest

import artifex_keras as ak
from artifex_keras.evaluation import language_model_metrics
from artifex_keras.models import TransformerLM
from tests.checks.presets import check_preset_metric
from tests.checks.presets import check_shipped_preset


def test_transformer_shakespeare_char_scores_a_held_out_play_far_below_uniform_and_greedy_text_is_cached():
    model = check_shipped_preset("transformer_shakespeare_char", TransformerLM)
    # The first 20,000 characters of the held-out plays (2.32 bits/char recorded over all 557,814).
    bits = language_model_metrics(model, "shakespeare", limit=20000)["bits_per_character"]
    assert bits < 2.6 < math.log2(model.vocabulary_size) - 3, bits
    cached = model.generate(2, prompt="ROMEO:", max_length=40, sampler="greedy", seed=0)
    assert cached == model.generate(2, prompt="ROMEO:", max_length=40, sampler="greedy", seed=0, use_cache=False)
    assert all(text.startswith("ROMEO:") and len(text) == 40 for text in cached)


@pytest.mark.slow
def test_transformer_shakespeare_char_reproduces_its_validation_bits_per_character():
    model = ak.from_preset("transformer_shakespeare_char")
    measured = language_model_metrics(model, "shakespeare")["bits_per_character"]
    check_preset_metric("transformer_shakespeare_char", measured, "bits_per_character", rtol=1e-4)
