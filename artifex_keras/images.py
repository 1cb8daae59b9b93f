"""Image grids: tile a batch of images into one picture and save it as a PNG.

Example:
```python
import artifex_keras as ak
from artifex_keras.images import save_image_grid

model = ak.models.VAE(input_shape=(8, 8, 1), latent_dim=2, hidden_dims=(16,))
save_image_grid(model.generate(64, seed=0), "samples.png")   # 8 x 8 tiles, upscaled to 32 px
```
"""

import math
import numbers
import pathlib

import numpy as np

# Padding between tiles is mid-grey, so it separates dark and light images alike.
PAD_VALUE = 128
# `save_image_grid` upscales tiles (nearest neighbour) to at least this many pixels a side.
MIN_TILE_PIXELS = 28
# Pixels of padding around and between tiles.
PADDING = 2
# Models of vectors up to this size draw points (2-D pictures, sample distances); longer ones are sequences.
MAX_POINT_FEATURES = 64


def display_range(model):
    """The value range a model's samples are drawn in: its `data_range`, or [0, 1] when unrestricted."""
    return model.data_range if model.data_range is not None else (0.0, 1.0)


def image_grid(images, columns=None, value_range=(0.0, 1.0), scale=1, padding=PADDING):
    """Tile `images` into one uint8 picture, row by row, with grey padding between tiles.

    Args:
        images: array `(N, H, W, C)` with `C` 1 (grayscale) or 3 (RGB).
        columns: tiles per row; defaults to `ceil(sqrt(N))`.
        value_range: `(low, high)` the pixel values lie in, e.g. `(0, 1)` or
            `(-1, 1)`; values outside are clipped.
        scale: integer upscaling factor of each tile (nearest neighbour).
        padding: pixels of padding around and between tiles.

    Returns:
        uint8 array `(rows * (H * scale + padding) + padding, columns * (W * scale + padding) + padding)`
        for grayscale, with a trailing axis of 3 for RGB.

    Example:
    ```python
    grid = image_grid(np.random.rand(10, 8, 8, 1), columns=5)   # (2 * 10 + 2, 5 * 10 + 2) = (22, 52)
    ```
    """
    return _grid("image_grid", _check_images("image_grid", images), columns, value_range, scale, padding)


def save_image_grid(images, path, columns=None, value_range=(0.0, 1.0), scale=None):
    """Write `images` as a PNG grid (see `image_grid`); returns the path written.

    Args:
        images: array `(N, H, W, C)` with `C` 1 or 3.
        path: file to write (parent folders are created).
        columns: tiles per row; defaults to `ceil(sqrt(N))`.
        value_range: `(low, high)` the pixel values lie in.
        scale: integer upscaling of each tile; by default the smallest factor
            that makes tiles at least 28 pixels a side (8x8 digits become 32x32).

    Example:
    ```python
    save_image_grid(model.generate(64, seed=0), "samples.png", value_range=(-1, 1))
    ```
    """
    from PIL import Image

    array = _check_images("save_image_grid", images)
    if scale is None:
        scale = max(1, math.ceil(MIN_TILE_PIXELS / min(array.shape[1:3])))
    grid = _grid("save_image_grid", array, columns, value_range, scale, PADDING)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(path, format="PNG")
    return path


def save_point_density(points, path, extent=None, pixels=256):
    """Write 2-D points as a PNG histogram (dark where points are dense); returns the path written.

    Args:
        points: array `(N, D)`; the first two coordinates are drawn.
        path: file to write (parent folders are created).
        extent: `(low, high)` of both axes; default: the points' range.
        pixels: side of the picture.

    Example:
    ```python
    save_point_density(model.generate(4096, seed=0), "samples.png", extent=(-4, 4))
    ```
    """
    from PIL import Image

    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] < 2 or array.shape[0] < 1:
        raise ValueError(f"save_point_density: `points` must have shape (N, D) with D >= 2, got shape {array.shape}")
    finite = array[np.all(np.isfinite(array[:, :2]), axis=1), :2]
    low, high = extent if extent is not None else (float(finite.min()), float(finite.max()) + 1e-9)
    counts, _, _ = np.histogram2d(finite[:, 1], finite[:, 0], bins=pixels, range=[[low, high], [low, high]])
    # Log counts, y axis pointing up: the picture reads like a scatter plot.
    shade = np.log1p(counts[::-1]) / max(np.log1p(counts.max()), 1e-12)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.uint8(np.round(255 * (1.0 - shade)))).save(path, format="PNG")
    return path


def _grid(owner, array, columns, value_range, scale, padding):
    if columns is None:
        columns = math.ceil(math.sqrt(len(array)))
    columns = _check_count(owner, "columns", columns)
    scale = _check_count(owner, "scale", scale)
    if isinstance(padding, bool) or not isinstance(padding, numbers.Integral) or padding < 0:
        raise ValueError(f"{owner}: `padding` must be a non-negative int, got {padding!r}")
    pixels = _to_uint8(owner, array, value_range)
    if scale > 1:
        pixels = pixels.repeat(scale, axis=1).repeat(scale, axis=2)
    count, height, width, channels = pixels.shape
    rows = math.ceil(count / columns)
    grid = np.full(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, channels), PAD_VALUE, np.uint8
    )
    for index, tile in enumerate(pixels):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top : top + height, left : left + width] = tile
    return grid[..., 0] if channels == 1 else grid


def _check_images(owner, images):
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[-1] not in (1, 3) or 0 in array.shape:
        raise ValueError(
            f"{owner}: `images` must have shape (N, H, W, C) with N, H, W > 0 and C 1 (grayscale) or 3 (RGB), "
            f"got shape {array.shape}"
        )
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{owner}: `images` must hold numbers, got dtype {array.dtype}")
    bad = int(array.size - np.count_nonzero(np.isfinite(array)))
    if bad:
        raise ValueError(f"{owner}: `images` must be finite, got {bad} NaN or infinite value(s)")
    return array


def _check_count(owner, argument, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{owner}: `{argument}` must be a positive int, got {value!r}")
    return int(value)


def _to_uint8(owner, array, value_range):
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: `value_range` must be a pair (low, high), got {value_range!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and high > low):
        raise ValueError(f"{owner}: `value_range` must be finite with high > low, got {value_range!r}")
    unit = np.clip((array.astype(np.float64) - low) / (high - low), 0.0, 1.0)
    return np.round(unit * 255.0).astype(np.uint8)
