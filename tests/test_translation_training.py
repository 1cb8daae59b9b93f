"""Training and evaluating the image-to-image models like every other model: data, sample grids, metrics, errors."""

import contextlib
import functools
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artifex_keras import data
from artifex_keras import evaluation
from artifex_keras import presets
from artifex_keras import training
from artifex_keras.callbacks import save_samples
from artifex_keras.cli import main
from artifex_keras.data import loaders
from artifex_keras.evaluation import available_metrics
from artifex_keras.evaluation import evaluate_model
from artifex_keras.images import PADDING
from artifex_keras.metrics import feature_extractor
from artifex_keras.metrics import sample_quality
from artifex_keras.models import VAE
from artifex_keras.models import CycleGAN
from artifex_keras.models import Pix2Pix
from artifex_keras.training import train_preset

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
HAVE_FASHION = all((FASHION_DIR / f).is_file() for pair in loaders.IDX_FILES.values() for f in pair)
needs_fashion = pytest.mark.skipif(not HAVE_FASHION, reason=f"Fashion-MNIST is not installed in {FASHION_DIR}")

PIX2PIX = dict(
    generator_filters=4, generator_depth=2, dropout=0.0, discriminator_filters=4, discriminator_layers=1,
    norm="none", seed=0,
)  # fmt: skip
CYCLEGAN = dict(
    generator_filters=4, generator_depth=1, residual_blocks=1, discriminator_filters=4, discriminator_layers=1, seed=0
)
TILE = 28 + PADDING  # 28-pixel images are not upscaled in a grid


def _tile(grid, row, column):
    """The 28x28 tile of a grid image at (row, column)."""
    top, left = PADDING + row * TILE, PADDING + column * TILE
    return grid[top : top + 28, left : left + 28]


def _pixels(images, low=0.0, high=1.0):
    """uint8 grid pixels of images in [low, high] (one channel dropped)."""
    return np.round(255.0 * np.clip((np.asarray(images, np.float64) - low) / (high - low), 0, 1))[..., 0]


@pytest.fixture(autouse=True)
def _fashion_from_its_install(monkeypatch):
    monkeypatch.delenv("ARTIFEX_KERAS_FASHION_MNIST_DIR", raising=False)
    evaluation.clear_cache()


@needs_fashion
@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_l1_and_psnr_equal_a_numpy_recomputation(activation):
    model = Pix2Pix(input_shape=(28, 28, 1), output_activation=activation, **PIX2PIX)
    assert available_metrics(model) == ["translate", "generate"]
    result = evaluate_model(model, data="fashion_mnist_edges", limit=24, batch_size=10, capabilities=["translate"])
    assert list(result) == ["data", "split", "num_examples", "compared", "l1", "psnr", "seconds"]
    assert result["num_examples"] == 24 and "real target images" in result["compared"]

    edges, images = data.load_translation("fashion_mnist_edges", split="test", limit=24)  # both in [0, 1]
    low = model.data_range[0]
    translated = model.translate(edges * (1 - low) + low)  # sources in the model's range
    translated = np.clip((translated.astype(np.float64) - low) / (1 - low), 0, 1)
    mse = np.mean((translated - images) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(result["l1"], np.mean(np.abs(translated - images)), rtol=1e-6)
    np.testing.assert_allclose(result["psnr"], np.mean(10 * np.log10(1 / mse)), rtol=1e-6)


@needs_fashion
def test_cyclegan_translations_are_measured_against_real_domain_b_with_the_generator_floor():
    model = CycleGAN(input_shape=(28, 28, 1), **CYCLEGAN)
    result = evaluate_model(model, data="fashion_mnist_sneakers_boots", limit=20)
    assert "l1" not in result and "domain-B" in result["compared"]
    assert (result["extractor"], result["num_samples"]) == ("fashion_mnist_classifier", 20)

    extractor = feature_extractor("fashion_mnist_classifier")
    sneakers, boots = data.load_translation("fashion_mnist_sneakers_boots", split="test", limit=20)
    real, _ = extractor.extract(boots)
    fake, probabilities = extractor.extract(np.clip(model.translate(sneakers), 0, 1))
    expected = sample_quality(real, fake, probabilities, seed=0)
    for name in ("fd", "kid", "precision", "recall", "density", "coverage"):
        np.testing.assert_allclose(result[name], expected[name], rtol=1e-4, atol=1e-6, err_msg=name)
    # The floor: real B test images against as many real B training images, as for generators.
    train_boots = data.load_translation("fashion_mnist_sneakers_boots", split="train", limit=20)[1]
    floor = sample_quality(real, extractor.extract(train_boots)[0], seed=0)
    assert (result["floor"]["reference_split"], result["floor"]["num_examples"]) == ("train", 20)
    np.testing.assert_allclose(result["floor"]["fd"], floor["fd"], rtol=1e-6)
    # Domain A as reference would give another distance: the reference set matters.
    wrong = sample_quality(extractor.extract(sneakers)[0], fake, seed=0)["fd"]
    assert not np.isclose(result["fd"], wrong, rtol=1e-3)


@pytest.mark.parametrize("with_targets", [True, False])
def test_sample_grid_shows_real_sources_their_translations_and_targets(tmp_path, with_targets):
    model = Pix2Pix(input_shape=(28, 28, 1), **PIX2PIX)
    rng = np.random.default_rng(0)
    sources = rng.integers(0, 2, (10, 28, 28, 1)).astype("float32")
    targets = rng.uniform(0, 1, (10, 28, 28, 1)).astype("float32")
    path = save_samples(
        model, tmp_path / "grid.png", num_samples=10, columns=4, sources=sources,
        targets=targets if with_targets else None,
    )  # fmt: skip
    grid = np.asarray(Image.open(path)).astype(np.float64)
    kinds = 3 if with_targets else 2
    assert grid.shape == (2 * kinds * TILE + PADDING, 4 * TILE + PADDING)  # 10 sources cut to 2 whole rows of 4
    translations = model.translate(sources[:8])
    for group in range(2):
        for column in range(4):
            index = group * 4 + column
            np.testing.assert_array_equal(_tile(grid, group * kinds, column), _pixels(sources[index]))
            np.testing.assert_allclose(_tile(grid, group * kinds + 1, column), _pixels(translations[index]), atol=1)
            if with_targets:
                np.testing.assert_array_equal(_tile(grid, group * kinds + 2, column), _pixels(targets[index]))
    with pytest.raises(ValueError, match=r"save_samples: Pix2Pix translates source images; pass `sources`"):
        save_samples(model, tmp_path / "noise.png")


def test_models_and_data_that_do_not_fit_get_clear_errors(tmp_path):
    with pytest.raises(ValueError, match=r"evaluate_model: Pix2Pix translates source images and needs a translation "
                                         r"task \(fashion_mnist_edges, fashion_mnist_sneakers_boots\), got dataset "
                                         r"'digits'"):  # fmt: skip
        evaluate_model(Pix2Pix(input_shape=(8, 8, 1), **PIX2PIX), data="digits")
    with pytest.raises(ValueError, match=r"evaluate_model: 'fashion_mnist_edges' is an image-to-image translation "
                                         r"task .*, but VAE does not take source images"):  # fmt: skip
        evaluate_model(VAE(input_shape=(28, 28, 1), latent_dim=2, hidden_dims=(8,)), data="fashion_mnist_edges")
    with pytest.raises(ValueError, match=r"train_preset: CycleGAN translates source images and needs a translation"):
        train_preset("cyclegan", tmp_path / "out", data="digits", epochs=1, overrides=CYCLEGAN)
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["train", "pix2pix", "--data", "digits", "--output", str(tmp_path / "cli")])
    assert code == 2
    assert err.getvalue().startswith("artifex-keras train: train_preset: Pix2Pix translates source images")
    assert not (tmp_path / "out").exists() and not (tmp_path / "cli").exists()


@needs_fashion
def test_vae_on_a_translation_task_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"train_preset: 'fashion_mnist_edges' is an image-to-image translation task"):
        train_preset("vae", tmp_path, data="fashion_mnist_edges", overrides={"latent_dim": 2, "hidden_dims": (8,)})


@needs_fashion
def test_train_preset_on_a_paired_task_writes_a_preset_that_translates_identically(tmp_path, monkeypatch):
    # The held-out metrics on 24 test images, not 10000: the same code path, a fraction of the time.
    monkeypatch.setattr(training, "evaluate_model", functools.partial(evaluate_model, limit=24))
    run = train_preset(
        "pix2pix", tmp_path / "p2p", data="fashion_mnist_edges", epochs=1, batch_size=16, limit=32,
        overrides=PIX2PIX, verbose=0,
    )  # fmt: skip
    assert int(run.model.phase_optimizers["generator"].iterations) == 2  # 32 pairs, batches of 16
    metadata = json.loads((run.directory / "metadata.json").read_text())
    assert metadata["training"]["data"] == "fashion_mnist_edges" and metadata["family"] == "gan"
    metrics = metadata["metrics"]
    assert metrics["num_examples"] == 24 and metrics["num_samples"] == 24
    assert 0 < metrics["l1"] < 1 and np.isfinite(metrics["psnr"])
    for name in ("fd", "kid", "precision", "recall", "density", "coverage"):
        assert np.isfinite(metrics[name]) and np.isfinite(metrics["floor"][name]), name
    assert json.loads((run.directory / "metrics.json").read_text())["l1"] == metrics["l1"]

    edges, images = data.load_translation("fashion_mnist_edges", split="test", limit=8)
    reloaded = presets.load_preset(run.directory)
    assert tuple(reloaded.source_shape) == (28, 28, 1)
    np.testing.assert_array_equal(reloaded.translate(edges), run.model.translate(edges))
    # samples.png: 64 test sources in 8 groups of 3 rows (edges, translations, real images).
    grid = np.asarray(Image.open(run.directory / "samples.png")).astype(np.float64)
    assert grid.shape == (24 * TILE + PADDING, 8 * TILE + PADDING)
    for column in range(8):
        np.testing.assert_array_equal(_tile(grid, 0, column), _pixels(edges[column]))
        np.testing.assert_array_equal(_tile(grid, 2, column), _pixels(images[column]))
    # `artifex-keras sample` shows the same: real test sources of the preset's task, translations, targets.
    with contextlib.redirect_stdout(io.StringIO()):
        status = main(["sample", str(run.directory), "-n", "8", "--columns", "4", "--output", str(tmp_path / "s.png")])
    assert status == 0
    grid = np.asarray(Image.open(tmp_path / "s.png")).astype(np.float64)
    assert grid.shape == (6 * TILE + PADDING, 4 * TILE + PADDING)
    translations = reloaded.translate(edges)
    for column in range(4):
        np.testing.assert_array_equal(_tile(grid, 3, column), _pixels(edges[4 + column]))
        np.testing.assert_allclose(_tile(grid, 4, column), _pixels(translations[4 + column]), atol=1)
        np.testing.assert_array_equal(_tile(grid, 5, column), _pixels(images[4 + column]))
