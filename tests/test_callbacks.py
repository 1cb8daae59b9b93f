"""`SampleGrid` and `save_samples`: sample grids while a model trains, on every backend."""

import numpy as np
import pytest
from PIL import Image

from artifex_keras.callbacks import POINT_SAMPLES
from artifex_keras.callbacks import SampleGrid
from artifex_keras.callbacks import save_samples
from artifex_keras.images import PADDING
from artifex_keras.images import save_image_grid
from artifex_keras.images import save_point_density
from artifex_keras.models import EBM
from artifex_keras.models import VAE
from artifex_keras.models import VQVAE
from artifex_keras.models import ConditionalVAE
from artifex_keras.models import ImageClassifier
from artifex_keras.samplers import GreedySampler
from tests.checks import digits

TINY = {"input_shape": (8, 8, 1), "latent_dim": 2, "hidden_dims": (16,), "seed": 0}
VQ_TINY = dict(
    input_shape=(8, 8, 1), hidden_dims=(8, 16), num_embeddings=8, embedding_dim=4, prior_filters=8, prior_layers=2
)


def _tiles(path, tile):
    """(rows, columns) of a grid of `tile`-pixel tiles."""
    height, width = np.asarray(Image.open(path)).shape[:2]
    step = tile + PADDING
    return (height - PADDING) // step, (width - PADDING) // step


def test_sample_grid_saves_every_n_epochs_from_the_same_seed(tmp_path):
    model = VAE(**TINY)
    callback = SampleGrid(tmp_path / "grids", every_n_epochs=2, num_samples=12, columns=4)
    model.fit(digits(64), epochs=5, batch_size=32, verbose=0, callbacks=[callback])
    assert [p.name for p in callback.paths] == ["epoch_0002.png", "epoch_0004.png"]
    assert sorted(p.name for p in (tmp_path / "grids").iterdir()) == ["epoch_0002.png", "epoch_0004.png"]
    tile = np.asarray(Image.open(callback.paths[0])).shape[0] // 3 - PADDING  # 3 rows of upscaled tiles
    assert _tiles(callback.paths[0], tile) == (3, 4)
    # Same weights, same seed: the same picture.
    again = save_samples(model, tmp_path / "again.png", num_samples=12, columns=4)
    final = save_samples(model, tmp_path / "final.png", num_samples=12, columns=4)
    np.testing.assert_array_equal(np.asarray(Image.open(again)), np.asarray(Image.open(final)))


def test_conditional_models_get_one_row_per_class(tmp_path):
    model = ConditionalVAE(num_classes=3, **TINY)
    path = save_samples(model, tmp_path / "classes.png", columns=5)
    tile = np.asarray(Image.open(path)).shape[1] // 5 - PADDING
    assert _tiles(path, tile) == (3, 5)


def test_bad_arguments_and_models_get_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="SampleGrid: `every_n_epochs` must be a positive int, got 0"):
        SampleGrid(tmp_path, every_n_epochs=0)
    with pytest.raises(ValueError, match="SampleGrid: `seed` must be a non-negative int, got -1"):
        SampleGrid(tmp_path, seed=-1)
    with pytest.raises(ValueError, match="save_samples: `columns` must be a positive int, got 0"):
        save_samples(VAE(**TINY), tmp_path / "x.png", columns=0)
    classifier = ImageClassifier(input_shape=(8, 8, 1), num_classes=10, filters=(8,), feature_dim=8)
    x, y = digits(32, with_labels=True)
    with pytest.raises(ValueError, match="SampleGrid: ImageClassifier does not generate samples"):
        classifier.fit(x, y, epochs=1, verbose=0, callbacks=[SampleGrid(tmp_path)])


def test_sample_grids_draw_with_the_given_sampler(tmp_path):
    model = VQVAE(**VQ_TINY)
    greedy = save_samples(model, tmp_path / "greedy.png", num_samples=4, columns=2, sampler="greedy")
    expected = save_image_grid(model.generate(4, seed=0, sampler=GreedySampler()), tmp_path / "expected.png", columns=2)
    np.testing.assert_array_equal(np.asarray(Image.open(greedy)), np.asarray(Image.open(expected)))
    callback = SampleGrid(tmp_path / "grids", num_samples=4, columns=2, sampler={"class_name": "greedy"})
    model.fit(digits(32), epochs=1, batch_size=32, verbose=0, callbacks=[callback])
    assert callback.sampler == GreedySampler() and callback.paths[0].is_file()
    with pytest.raises(ValueError, match="VAE.generate: VAE draws its samples directly and takes no `sampler`"):
        save_samples(VAE(**TINY), tmp_path / "x.png", sampler="greedy")


def test_models_of_points_save_a_density_picture(tmp_path):
    model = EBM(input_shape=(2,), hidden_dims=(8,), generate_steps=2, seed=0)
    path = save_samples(model, tmp_path / "points.png", seed=3)
    expected = save_point_density(model.generate(POINT_SAMPLES, seed=3), tmp_path / "expected.png")
    np.testing.assert_array_equal(np.asarray(Image.open(path)), np.asarray(Image.open(expected)))
