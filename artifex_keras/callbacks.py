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

from artifex_keras import validation
from artifex_keras.images import display_range
from artifex_keras.images import save_image_grid

GRID_COLUMNS = 8
GRID_SAMPLES = 64


def save_samples(model, path, num_samples=GRID_SAMPLES, columns=GRID_COLUMNS, seed=0):
    """Draw samples and save them as one PNG grid; conditional models draw one row per class.

    Unconditional models draw `num_samples` samples in rows of `columns`;
    conditional ones draw `columns` samples of every class (`num_samples` is
    then ignored). Images are mapped from the model's `data_range`.

    Returns:
        the path written.
    """
    owner = "save_samples"
    columns = validation.check_positive_int(owner, "columns", columns)
    if model.is_conditional:
        labels = np.repeat(np.arange(model.config.num_classes), columns)
        samples = model.generate(len(labels), seed=seed, labels=labels)
    else:
        samples = model.generate(validation.check_positive_int(owner, "num_samples", num_samples), seed=seed)
    return save_image_grid(samples, path, columns=columns, value_range=display_range(model))


class SampleGrid(keras.callbacks.Callback):
    """Save a grid of samples every `every_n_epochs` epochs, always from the same seed.

    Args:
        directory: where `epoch_0001.png`, `epoch_0002.png`, ... go (created if missing).
        every_n_epochs: draw after every this many epochs (and never in between).
        num_samples: samples per grid (unconditional models).
        columns: images per row (per class for conditional models).
        seed: the seed of every grid, so successive grids show the same latents.

    Example:
    ```python
    model.fit(x, epochs=10, callbacks=[SampleGrid("samples/", every_n_epochs=2)])
    ```
    """

    def __init__(self, directory, every_n_epochs=1, num_samples=GRID_SAMPLES, columns=GRID_COLUMNS, seed=0):
        super().__init__()
        owner = "SampleGrid"
        self.directory = pathlib.Path(directory)
        self.every_n_epochs = validation.check_positive_int(owner, "every_n_epochs", every_n_epochs)
        self.num_samples = validation.check_positive_int(owner, "num_samples", num_samples)
        self.columns = validation.check_positive_int(owner, "columns", columns)
        self.seed = validation.check_non_negative_int(owner, "seed", seed)
        self.paths = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        if not callable(getattr(self.model, "generate", None)):
            raise ValueError(f"SampleGrid: {type(self.model).__name__} does not generate samples")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"epoch_{epoch + 1:04d}.png"
        self.paths.append(save_samples(self.model, path, self.num_samples, self.columns, self.seed))
