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

import keras
import numpy as np

from artifex_keras import samplers
from artifex_keras import validation
from artifex_keras.conditioning import ClassLabels
from artifex_keras.images import MAX_POINT_FEATURES
from artifex_keras.images import display_range
from artifex_keras.images import save_image_grid
from artifex_keras.images import save_point_density

GRID_COLUMNS = 8
GRID_SAMPLES = 64
# Points drawn for the density picture of a model of vectors.
POINT_SAMPLES = 4096


def save_samples(model, path, num_samples=GRID_SAMPLES, columns=GRID_COLUMNS, seed=0, sampler=None):
    """Draw samples and save them as one PNG grid; class-conditional models draw one row per class.

    Unconditional models draw `num_samples` samples in rows of `columns`;
    class-conditional ones draw `columns` samples of every class
    (`num_samples` is then ignored); other conditional models draw from
    `model.example_conditions(num_samples)`. Images are mapped from the
    model's `data_range`. Models of vectors draw `POINT_SAMPLES` points and
    save their 2-D histogram (the first two coordinates) instead; models of
    sequences (vectors longer than `MAX_POINT_FEATURES`: audio, say) save nothing.

    Returns:
        the path written, or None.
    """
    owner = "save_samples"
    columns = validation.check_positive_int(owner, "columns", columns)
    spec = model.condition_spec()
    if len(tuple(model.data_shape)) == 1:
        if model.data_shape[0] > MAX_POINT_FEATURES:
            return None
        points = model.generate(POINT_SAMPLES, seed=seed, sampler=sampler, **model.example_conditions(POINT_SAMPLES))
        return save_point_density(points, path, extent=model.data_range)
    if isinstance(spec, ClassLabels):
        conditions = {spec.argument: np.repeat(np.arange(spec.num_classes), columns)}
        num_samples = len(conditions[spec.argument])
    else:
        num_samples = validation.check_positive_int(owner, "num_samples", num_samples)
        conditions = model.example_conditions(num_samples)
    samples = model.generate(num_samples, seed=seed, sampler=sampler, **conditions)
    return save_image_grid(samples, path, columns=columns, value_range=display_range(model))


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

    Example:
    ```python
    model.fit(x, epochs=10, callbacks=[SampleGrid("samples/", every_n_epochs=2)])
    ```
    """

    def __init__(
        self, directory, every_n_epochs=1, num_samples=GRID_SAMPLES, columns=GRID_COLUMNS, seed=0, sampler=None
    ):
        super().__init__()
        owner = "SampleGrid"
        self.directory = pathlib.Path(directory)
        self.every_n_epochs = validation.check_positive_int(owner, "every_n_epochs", every_n_epochs)
        self.num_samples = validation.check_positive_int(owner, "num_samples", num_samples)
        self.columns = validation.check_positive_int(owner, "columns", columns)
        self.seed = validation.check_non_negative_int(owner, "seed", seed)
        self.sampler = samplers.get(sampler)
        self.paths = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        if not callable(getattr(self.model, "generate", None)):
            raise ValueError(f"SampleGrid: {type(self.model).__name__} does not generate samples")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"epoch_{epoch + 1:04d}.png"
        self.paths.append(save_samples(self.model, path, self.num_samples, self.columns, self.seed, self.sampler))
