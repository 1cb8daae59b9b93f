"""Training and evaluating language models on a text corpus like every other model: windows, metrics, text samples."""

import contextlib
import functools
import io
import json
import math

import pytest

from artifex_keras import data
from artifex_keras import presets
from artifex_keras import training
from artifex_keras.cli import main
from artifex_keras.evaluation import evaluate_model
from artifex_keras.models import VAE
from artifex_keras.models import TransformerLM
from artifex_keras.tokenizers import CharacterTokenizer
from artifex_keras.training import train_preset

TINY = {"context_length": 32, "embedding_dim": 16, "num_layers": 1, "num_heads": 2, "hidden_dim": 32, "seed": 0}


@pytest.fixture(scope="module")
def validation_text():
    return data.load_text("shakespeare", "validation")


def test_a_language_model_trains_on_the_corpus_and_records_its_held_out_bits_per_character(
    tmp_path, validation_text, monkeypatch
):
    # The held-out metrics on the first 20,000 characters, not 557,814: the same code path, a fraction of the time.
    monkeypatch.setattr(training, "evaluate_model", functools.partial(evaluate_model, limit=20000))
    validation_text = validation_text[:20000]
    run = train_preset(
        "transformer_lm", tmp_path / "lm", data="shakespeare", epochs=1, batch_size=16, limit=320, overrides=TINY,
        learning_rate=1e-2, verbose=0,
    )  # fmt: skip
    metadata = json.loads((run.directory / "metadata.json").read_text())
    assert metadata["training"]["data"] == "shakespeare" and metadata["training"]["limit"] == 320
    assert int(run.model.optimizer.iterations) == 20  # the first 320 windows in batches of 16
    assert run.samples == run.directory / "samples.txt" and not (run.directory / "samples.png").exists()
    assert run.samples.read_text().count("--- sample") == 4
    # A model trained from its name gets the corpus's own character tokenizer.
    corpus = data.load_text("shakespeare", "all")
    assert run.model.tokenizer.vocabulary == "".join(sorted(set(corpus)))

    metrics = run.metrics
    assert metadata["metrics"] == metrics and metrics["split"] == "validation"
    reloaded = presets.load_preset(run.directory)
    nats, tokens, characters = reloaded.text_nll(validation_text)
    assert (metrics["num_tokens"], metrics["num_characters"]) == (tokens, characters) == (len(validation_text) - 1,) * 2
    assert metrics["bits_per_character"] == pytest.approx(nats / characters / math.log(2), rel=1e-6)
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["nll_nats_per_token"]), rel=1e-12)
    assert metrics["bits_per_token"] == pytest.approx(metrics["nll_nats_per_token"] / math.log(2), rel=1e-12)
    # 20 steps learn little more than the character frequencies: far below uniform, above 3 bits.
    assert 3.0 < metrics["bits_per_character"] < math.log2(run.model.vocabulary_size) - 1.0

    # `artifex-keras sample` on a language model writes texts: the same texts `generate` draws.
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["sample", str(run.directory), "-n", "3", "--seed", "5", "--output", str(tmp_path / "s.txt")]) == 0
    texts = reloaded.generate(3, seed=5)
    assert (tmp_path / "s.txt").read_text() == "".join(f"--- sample {i} ---\n{t}\n" for i, t in enumerate(texts))


def test_evaluation_of_a_text_corpus_scores_the_held_out_works(validation_text):
    tokenizer = CharacterTokenizer.from_text(data.load_text("shakespeare", "all"))
    lm = TransformerLM(tokenizer=tokenizer, **TINY)
    first = evaluate_model(lm, data="shakespeare", split="test", limit=3000)
    assert first["split"] == "validation"  # "test" names the held-out works too
    again = evaluate_model(lm, data="shakespeare", split="validation", limit=3000)
    assert first == {**again, "seconds": first["seconds"]}
    nats, tokens, characters = lm.text_nll(validation_text[:3000])
    assert (first["num_tokens"], first["num_characters"]) == (tokens, characters) == (2999, 2999)
    assert first["nll_nats_per_token"] == pytest.approx(nats / tokens, rel=1e-6)
    # Untrained, the model is close to uniform over the vocabulary.
    assert first["bits_per_character"] == pytest.approx(math.log2(tokenizer.vocabulary_size), abs=0.3)


def test_text_corpora_fit_only_language_models(tmp_path):
    with pytest.raises(ValueError, match=r"data 'shakespeare' is a text corpus, which trains language models "
                                         r"\(transformer_lm\), not 'vae' \(VAE\)"):  # fmt: skip
        train_preset("vae", tmp_path, data="shakespeare")
    with pytest.raises(ValueError, match=r"evaluate_model: 'shakespeare' is a text corpus, evaluated for language "
                                         r"models .*, got a VAE"):  # fmt: skip
        evaluate_model(VAE(input_shape=(8, 8, 1)), data="shakespeare")
    with pytest.raises(ValueError, match="evaluate_model: `limit` must be a positive int, got 0"):
        evaluate_model(TransformerLM(tokenizer="byte", **TINY), data="shakespeare", limit=0)
