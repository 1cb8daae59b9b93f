"""Callbacks for `fit`: watch samples improve while a model trains.

Example:
```python
import artifex_keras as ak

model = ak.models.VAE(latent_dim=8, input_shape=(8, 8, 1))
model.fit(x, epochs=20, callbacks=[ak.callbacks.SampleGrid("runs/vae/samples", every_n_epochs=5)])
# runs/vae/samples/epoch_0005.png, epoch_0010.png, ... drawn from the same seed
```
"""

import pathlib
import time

import keras
import numpy as np

from artifex_keras import samplers
from artifex_keras import validation
from artifex_keras.conditioning import ClassLabels
from artifex_keras.conditioning import SourceImages
from artifex_keras.conditioning import TokenIds
from artifex_keras.images import MAX_POINT_FEATURES
from artifex_keras.images import display_range
from artifex_keras.images import save_image_grid
from artifex_keras.images import save_point_density

GRID_COLUMNS = 8
GRID_SAMPLES = 64
# Points drawn for the density picture of a model of vectors.
POINT_SAMPLES = 4096
# Texts a language model writes in place of a sample grid, each started from the model's default prompt.
TEXT_SAMPLES = 4


def save_samples(
    model, path, num_samples=GRID_SAMPLES, columns=GRID_COLUMNS, seed=0, sampler=None, sources=None, targets=None
):
    """Draw samples and save them as one PNG grid; class-conditional models draw one row per class.

    Unconditional models draw `num_samples` samples in rows of `columns`;
    class-conditional ones draw `columns` samples of every class
    (`num_samples` is then ignored); image-to-image models (conditioned on
    `SourceImages`) translate the first `num_samples` of `sources` (real
    images, in the model's `data_range`; required for them), cut to whole
    rows, and show each row of sources followed by the row of their
    translations and, when `targets` (the sources' real targets) are given,
    the row of those targets; other conditional models draw from
    `model.example_conditions(num_samples)`. Images are mapped from the
    model's `data_range`. Models of vectors draw `POINT_SAMPLES` points and
    save their 2-D histogram (the first two coordinates) instead; language
    models (prompted with `TokenIds`) write `TEXT_SAMPLES` texts of their
    full context to `path` with the suffix `.txt`; other models of
    sequences (vectors longer than `MAX_POINT_FEATURES`: audio, say) save nothing.

    Returns:
        the path written, or None.
    """
    owner = "save_samples"
    columns = validation.check_positive_int(owner, "columns", columns)
    spec = model.condition_spec()
    if isinstance(spec, TokenIds):
        texts = model.generate(TEXT_SAMPLES, seed=seed, sampler=sampler)
        path = pathlib.Path(path).with_suffix(".txt")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"--- sample {index} ---\n{text}\n" for index, text in enumerate(texts)))
        return path
    if len(tuple(model.data_shape)) == 1:
        if model.data_shape[0] > MAX_POINT_FEATURES:
            return None
        points = model.generate(POINT_SAMPLES, seed=seed, sampler=sampler, **model.example_conditions(POINT_SAMPLES))
        return save_point_density(points, path, extent=model.data_range)
    if isinstance(spec, SourceImages):
        return _save_translations(model, path, spec, num_samples, columns, seed, sampler, sources, targets)
    if isinstance(spec, ClassLabels):
        conditions = {spec.argument: np.repeat(np.arange(spec.num_classes), columns)}
        num_samples = len(conditions[spec.argument])
    else:
        num_samples = validation.check_positive_int(owner, "num_samples", num_samples)
        conditions = model.example_conditions(num_samples)
    samples = model.generate(num_samples, seed=seed, sampler=sampler, **conditions)
    return save_image_grid(samples, path, columns=columns, value_range=display_range(model))


def _save_translations(model, path, spec, num_samples, columns, seed, sampler, sources, targets):
    owner = "save_samples"
    if sources is None:
        raise ValueError(
            f"{owner}: {type(model).__name__} translates source images; pass `sources` (real images of shape "
            f"{tuple(spec.shape)}) to show them with their translations"
        )
    count = min(validation.check_positive_int(owner, "num_samples", num_samples), len(sources))
    columns = min(columns, count)
    count -= count % columns  # whole rows, so each row of sources lines up with its translations
    sources = np.asarray(sources)[:count]
    rows = [sources, model.generate(count, seed=seed, sampler=sampler, **{spec.argument: sources})]
    if targets is not None:
        if len(targets) < count:
            raise ValueError(f"{owner}: `targets` must hold one image per source ({count}), got {len(targets)}")
        rows.append(np.asarray(targets)[:count])
    channels = max(row.shape[-1] for row in rows)  # grayscale sources beside RGB images are shown as RGB
    rows = [np.repeat(row, channels // row.shape[-1], axis=-1) for row in rows]
    # (groups, kind, columns, h, w, c): the sources of a row, their translations, their targets, then the next row.
    grid = np.stack([row.reshape(count // columns, columns, *row.shape[1:]) for row in rows], axis=1)
    return save_image_grid(grid.reshape(-1, *grid.shape[3:]), path, columns=columns, value_range=display_range(model))


class SampleGrid(keras.callbacks.Callback):
    """Save a grid of samples every `every_n_epochs` epochs, always from the same seed.

    Args:
        directory: where `epoch_0001.png`, `epoch_0002.png`, ... go (created if missing).
        every_n_epochs: draw after every this many epochs (and never in between).
        num_samples: samples per grid (unconditional models).
        columns: images per row (per class for conditional models).
        seed: the seed of every grid, so successive grids show the same latents.
        sampler: the sampler the model draws with (a `Sampler`, its name or
            config; None: the model's default).
        sources, targets: image-to-image models: the real source images
            translated in every grid, and optionally their real targets (see
            `save_samples`).

    Example:
    ```python
    model.fit(x, epochs=10, callbacks=[SampleGrid("samples/", every_n_epochs=2)])
    ```
    """

    def __init__(
        self,
        directory,
        every_n_epochs=1,
        num_samples=GRID_SAMPLES,
        columns=GRID_COLUMNS,
        seed=0,
        sampler=None,
        sources=None,
        targets=None,
    ):
        super().__init__()
        owner = "SampleGrid"
        self.directory = pathlib.Path(directory)
        self.every_n_epochs = validation.check_positive_int(owner, "every_n_epochs", every_n_epochs)
        self.num_samples = validation.check_positive_int(owner, "num_samples", num_samples)
        self.columns = validation.check_positive_int(owner, "columns", columns)
        self.seed = validation.check_non_negative_int(owner, "seed", seed)
        self.sampler = samplers.get(sampler)
        self.sources = sources
        self.targets = targets
        self.paths = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        if not callable(getattr(self.model, "generate", None)):
            raise ValueError(f"SampleGrid: {type(self.model).__name__} does not generate samples")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"epoch_{epoch + 1:04d}.png"
        self.paths.append(
            save_samples(
                self.model, path, self.num_samples, self.columns, self.seed, self.sampler, self.sources, self.targets
            )
        )


class TimeLimit(keras.callbacks.Callback):
    """Stop `fit` at the end of the first epoch that ends `seconds` or more after training began.

    Training stops at an epoch boundary, so every epoch run is a whole one;
    `epochs_run` counts them.

    Example:
    ```python
    limit = ak.callbacks.TimeLimit(3600)  # at most about an hour, in whole epochs
    model.fit(x, epochs=1000, callbacks=[limit])
    limit.epochs_run, limit.stopped  # epochs trained, and whether the limit ended training
    ```
    """

    def __init__(self, seconds):
        super().__init__()
        self.seconds = validation.check_positive_number("TimeLimit", "seconds", seconds)
        self.epochs_run = 0
        self.stopped = False
        self._start = None

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self.epochs_run = 0
        self.stopped = False

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_run += 1
        if time.perf_counter() - self._start >= self.seconds:
            self.stopped = True
            self.model.stop_training = True
