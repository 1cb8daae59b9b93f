"""Image-to-image translation tasks built offline from Fashion-MNIST: paired (pix2pix) and unpaired (CycleGAN).

Tasks (see `load_translation` for the arguments):

- ``"fashion_mnist_edges"`` (paired): the source is the image's edge map
  (`edge_map`: Sobel gradient magnitude above `EDGE_THRESHOLD`, in {0, 1}),
  the target the image itself, like pix2pix's edges -> shoes.
- ``"fashion_mnist_sneakers_boots"`` (unpaired): domain A is every
  ``"Sneaker"`` image, domain B every ``"Ankle boot"`` image of the split
  (`two_domains`), each domain in its own seeded order, so the i-th A and
  B images are unrelated, like CycleGAN's horses <-> zebras.

Both read ``"fashion_mnist"`` through `artifex_keras.data.load` (so from the
same offline locations) and return two float32 arrays of equal length.

Example:
```python
from artifex_keras import data

edges, images = data.load_translation("fashion_mnist_edges", split="test")   # (10000, 28, 28, 1) each
sneakers, boots = data.load_translation("fashion_mnist_sneakers_boots")       # (6000, 28, 28, 1) each
```
"""

import difflib
import numbers

import numpy as np

from .loaders import SPLITS
from .loaders import load

# Sobel magnitude (of images in [0, 1]) above which a pixel is an edge.
EDGE_THRESHOLD = 1.0
PAIRED = {"fashion_mnist_edges": "fashion_mnist"}
# Unpaired task -> (source dataset, classes of domain A, classes of domain B).
UNPAIRED = {"fashion_mnist_sneakers_boots": ("fashion_mnist", (7,), (9,))}
# Seeds of the order of each domain: different, so no A image is aligned with a B image.
DOMAIN_SEEDS = (0, 1)
_SCALES = ("unit", "symmetric")
_CHUNK = 8192


def list_translation_datasets():
    """Names `load_translation` accepts.

    Example:
    ```python
    list_translation_datasets()  # ['fashion_mnist_edges', 'fashion_mnist_sneakers_boots']
    ```
    """
    return sorted([*PAIRED, *UNPAIRED])


def is_paired(name):
    """Whether task `name` pairs each source with its target (True) or holds two unrelated domains (False)."""
    return _check_name(name, "is_paired") in PAIRED


def base_dataset(name):
    """The image dataset task `name` is built from (whose classifier measures the translations).

    Example:
    ```python
    base_dataset("fashion_mnist_sneakers_boots")  # 'fashion_mnist'
    ```
    """
    name = _check_name(name, "base_dataset")
    return PAIRED[name] if name in PAIRED else UNPAIRED[name][0]


def edge_map(images, threshold=EDGE_THRESHOLD):
    """Binary edge maps of images `(n, h, w, c)` in [0, 1]: Sobel gradient magnitude above `threshold`.

    The gradients are those of the channel mean, with zero padding outside
    the image; the result is float32 `(n, h, w, 1)` in {0, 1}.

    Example:
    ```python
    edges = edge_map(images)          # 1 on outlines, 0 elsewhere
    ```
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"edge_map: `images` must have shape (n, height, width, channels), got {images.shape}")
    # In chunks, so a whole split needs no more than a few chunk-sized temporaries.
    chunks = [_sobel_edges(images[start : start + _CHUNK], threshold) for start in range(0, len(images), _CHUNK)]
    return np.concatenate(chunks) if chunks else np.zeros((*images.shape[:3], 1), np.float32)


def _sobel_edges(images, threshold):
    gray = np.pad(images.mean(axis=-1), ((0, 0), (1, 1), (1, 1)))
    height, width = images.shape[1:3]

    def window(row, column):
        return gray[:, row : row + height, column : column + width]

    # Sobel: derivative [-1, 0, 1] across, smoothing [1, 2, 1] along.
    gx = (window(0, 2) + 2 * window(1, 2) + window(2, 2)) - (window(0, 0) + 2 * window(1, 0) + window(2, 0))
    gy = (window(2, 0) + 2 * window(2, 1) + window(2, 2)) - (window(0, 0) + 2 * window(0, 1) + window(0, 2))
    return (np.sqrt(gx**2 + gy**2) > threshold).astype(np.float32)[..., None]


def two_domains(images, labels, classes_a, classes_b, seeds=DOMAIN_SEEDS):
    """`(a, b)`: the images of `classes_a` and of `classes_b`, each in its own seeded order, cut to equal length.

    Example:
    ```python
    a, b = two_domains(x, y, classes_a=(7,), classes_b=(9,))
    ```
    """
    labels = np.asarray(labels)
    domains = []
    for classes, seed in zip((classes_a, classes_b), seeds):
        index = np.flatnonzero(np.isin(labels, classes))
        if not len(index):
            raise ValueError(f"two_domains: no image has a label in {tuple(classes)}")
        domains.append(np.asarray(images)[np.random.default_rng(seed).permutation(index)])
    size = min(len(domain) for domain in domains)
    return domains[0][:size], domains[1][:size]


def load_translation(name, split="train", *, scale="unit", limit=None):
    """Load a translation task as two float32 image arrays of equal length.

    Args:
        name: one of `list_translation_datasets()`.
        split: ``"train"``, ``"test"`` or ``"all"``, of the underlying dataset.
        scale: ``"unit"`` ([0, 1]) or ``"symmetric"`` ([-1, 1]) for both arrays.
        limit: keep only the first `limit` examples (a positive int).

    Returns:
        `(sources, targets)` for a paired task (`fit(sources, targets)` of
        `Pix2Pix`), `(a, b)` for an unpaired one (`fit(a, b)` of `CycleGAN`).

    Raises:
        ValueError: for an unknown name or a bad argument.
        DatasetUnavailableError: when Fashion-MNIST is not on this machine.

    Example:
    ```python
    edges, images = load_translation("fashion_mnist_edges", limit=512)
    ```
    """
    name = _check_name(name, "load_translation")
    if not (isinstance(split, str) and split in SPLITS):
        raise ValueError(f"load_translation: `split` must be one of {', '.join(map(repr, SPLITS))}, got {split!r}")
    if scale not in _SCALES:
        raise ValueError(f"load_translation: `scale` must be one of {', '.join(map(repr, _SCALES))}, got {scale!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 1):
        raise ValueError(f"load_translation: `limit` must be a positive int or None, got {limit!r}")
    if name in PAIRED:
        targets = load(PAIRED[name], split=split, with_labels=False, limit=limit)
        first, second = edge_map(targets), targets
    else:
        dataset, classes_a, classes_b = UNPAIRED[name]
        first, second = (domain[:limit] for domain in two_domains(*load(dataset, split=split), classes_a, classes_b))
    if scale == "symmetric":
        first, second = first * np.float32(2.0) - np.float32(1.0), second * np.float32(2.0) - np.float32(1.0)
    return np.ascontiguousarray(first), np.ascontiguousarray(second)


def _check_name(name, caller):
    available = list_translation_datasets()
    if isinstance(name, str) and name in available:
        return name
    matches = difflib.get_close_matches(str(name), available)
    guess = f" Did you mean {' or '.join(map(repr, matches))}?" if matches else ""
    raise ValueError(f"{caller}: unknown translation dataset {name!r}.{guess} Available: {', '.join(available)}")
