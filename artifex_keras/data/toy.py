"""Seeded 2-D toy densities for density estimation: float32 `(n, 2)` NumPy arrays.

Each generator takes `(num_samples, seed=0)` and returns the points; the
`*_with_labels` form of `sample` also returns the mixture component or arm
each point came from (int32), which conditional flows train on. Where the
density's entropy is known, `entropy(name)` gives it in nats: the best
possible expected negative log-likelihood of any model, so a model's test
NLL minus the entropy is its gap to the optimum.

The parameters follow the FFJORD benchmark (Grathwohl et al., 2019):

- ``"eight_gaussians"``: eight isotropic Gaussians (std `0.5 / sqrt 2`) on a circle of radius
  `4 / sqrt 2`; entropy 2.8316 nats (grid integration, see `EIGHT_GAUSSIANS_ENTROPY`).
- ``"checkerboard"``: uniform on 8 squares of side 2 inside `[-4, 4]^2`; entropy `log 32` = 3.4657 nats.
- ``"two_moons"``, ``"circles"``, ``"spirals"``, ``"pinwheel"``: noisy curves (no closed-form entropy).

`conditional_entropy(name)` is the same bound for models conditioned on the
component id: one Gaussian, `log(2 pi e sigma^2)`, for eight Gaussians; one
2 x 2 square, `log 4`, for the checkerboard.

Example:
```python
x = eight_gaussians(1000, seed=0)              # (1000, 2) float32
x, y = sample("checkerboard", 1000, seed=1, with_labels=True)
entropy("checkerboard")                        # 3.4657...
```
"""

import difflib
import math

import numpy as np

# -E[log p(x)] of `eight_gaussians`, by integrating -p log p on a 3001 x 3001 grid over [-6, 6]^2
# (tests/data/test_toy.py recomputes it).
EIGHT_GAUSSIANS_ENTROPY = 2.831578
CHECKERBOARD_ENTROPY = math.log(32.0)
# Examples of the fixed splits `artifex_keras.data.load` returns; train and test use different seeds.
SPLIT_SIZES = {"train": 51200, "test": 10000}
SPLIT_SEEDS = {"train": 0, "test": 1}

_EIGHT_GAUSSIANS_RADIUS = 4.0 / math.sqrt(2.0)
_EIGHT_GAUSSIANS_STD = 0.5 / math.sqrt(2.0)


def _check(name, num_samples, seed):
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
        raise ValueError(f"{name}: `num_samples` must be a positive int, got {num_samples!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{name}: `seed` must be a non-negative int, got {seed!r}")
    return np.random.default_rng(int(seed))


def _points(values):
    return np.ascontiguousarray(values, dtype=np.float32)


def _eight_gaussians(num_samples, seed):
    rng = _check("eight_gaussians", num_samples, seed)
    labels = rng.integers(0, 8, size=num_samples)
    angles = labels * (2.0 * math.pi / 8.0)
    centers = _EIGHT_GAUSSIANS_RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return _points(centers + _EIGHT_GAUSSIANS_STD * rng.standard_normal((num_samples, 2))), labels


def _checkerboard(num_samples, seed):
    rng = _check("checkerboard", num_samples, seed)
    labels = rng.integers(0, 8, size=num_samples)  # which of the 8 squares
    column, row = labels % 4, labels // 4  # columns 0..3 from the left; rows 0..1 within the column
    # Column c covers [-4 + 2c, -2 + 2c]; its squares sit at rows with (row * 2 + c) even, i.e. a checkerboard.
    x = -4.0 + 2.0 * column + 2.0 * rng.random(num_samples)
    y = -4.0 + 4.0 * row + 2.0 * (column % 2) + 2.0 * rng.random(num_samples)
    return _points(np.stack([x, y], axis=1)), labels


def _two_moons(num_samples, seed):
    rng = _check("two_moons", num_samples, seed)
    labels = rng.integers(0, 2, size=num_samples)
    angle = math.pi * rng.random(num_samples)
    upper = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    lower = np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)
    points = np.where(labels[:, None] == 0, upper, lower) + 0.1 * rng.standard_normal((num_samples, 2))
    return _points(2.0 * points + np.array([-1.0, -0.2])), labels


def _circles(num_samples, seed):
    rng = _check("circles", num_samples, seed)
    labels = rng.integers(0, 2, size=num_samples)
    angle = 2.0 * math.pi * rng.random(num_samples)
    radius = np.where(labels == 0, 1.0, 0.5)
    points = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _points(3.0 * (points + 0.08 * rng.standard_normal((num_samples, 2)))), labels


def _spirals(num_samples, seed):
    rng = _check("spirals", num_samples, seed)
    labels = rng.integers(0, 2, size=num_samples)
    turn = np.sqrt(rng.random(num_samples)) * 3.0 * math.pi
    arm = np.stack([-np.cos(turn) * turn, np.sin(turn) * turn], axis=1) + 0.5 * rng.random((num_samples, 2))
    arm = np.where(labels[:, None] == 0, arm, -arm)
    return _points(arm / 3.0 + 0.1 * rng.standard_normal((num_samples, 2))), labels


def _pinwheel(num_samples, seed):
    rng = _check("pinwheel", num_samples, seed)
    num_arms, radial_std, tangential_std, rate = 5, 0.3, 0.1, 0.25
    labels = rng.integers(0, num_arms, size=num_samples)
    features = rng.standard_normal((num_samples, 2)) * np.array([radial_std, tangential_std])
    features[:, 0] += 1.0
    angles = labels * (2.0 * math.pi / num_arms) + rate * np.exp(features[:, 0])
    cos, sin = np.cos(angles), np.sin(angles)
    rotated = np.stack([features[:, 0] * cos - features[:, 1] * sin, features[:, 0] * sin + features[:, 1] * cos], 1)
    return _points(2.0 * rotated), labels


_GENERATORS = {
    "checkerboard": (_checkerboard, 8),
    "circles": (_circles, 2),
    "eight_gaussians": (_eight_gaussians, 8),
    "pinwheel": (_pinwheel, 5),
    "spirals": (_spirals, 2),
    "two_moons": (_two_moons, 2),
}
_ENTROPIES = {"eight_gaussians": EIGHT_GAUSSIANS_ENTROPY, "checkerboard": CHECKERBOARD_ENTROPY}
# Given the component, eight Gaussians is one isotropic Gaussian and the checkerboard one square of side 2.
_CONDITIONAL_ENTROPIES = {
    "eight_gaussians": math.log(2.0 * math.pi * math.e * _EIGHT_GAUSSIANS_STD**2),
    "checkerboard": math.log(4.0),
}
TOY_DATASETS = tuple(sorted(_GENERATORS))


def check_toy_name(name, caller):
    """`name` if it is a toy density, else a ValueError with close matches."""
    if isinstance(name, str) and name in _GENERATORS:
        return name
    matches = difflib.get_close_matches(str(name), TOY_DATASETS)
    guess = f" Did you mean {' or '.join(repr(match) for match in matches)}?" if matches else ""
    raise ValueError(f"{caller}: unknown toy density {name!r}.{guess} Available: {', '.join(TOY_DATASETS)}")


def sample(name, num_samples, seed=0, with_labels=False):
    """`num_samples` points of the toy density `name`, and with `with_labels` their component ids.

    Example:
    ```python
    x, components = sample("pinwheel", 500, seed=3, with_labels=True)   # components in 0..4
    ```
    """
    generator, _ = _GENERATORS[check_toy_name(name, "sample")]
    points, labels = generator(num_samples, seed)
    return (points, labels.astype(np.int32)) if with_labels else points


def num_components(name):
    """How many component ids `sample(name, ..., with_labels=True)` uses (the class count of its labels)."""
    return _GENERATORS[check_toy_name(name, "num_components")][1]


def entropy(name):
    """Differential entropy of toy density `name` in nats, or None where it is not known.

    A model's expected negative log-likelihood is at least this, so
    `test NLL - entropy(name)` is how far it is from the optimum.

    Example:
    ```python
    entropy("eight_gaussians")   # 2.8316
    ```
    """
    return _ENTROPIES.get(check_toy_name(name, "entropy"))


def conditional_entropy(name):
    """Entropy of toy density `name` given the component id (`sample(..., with_labels=True)`), in nats, or None.

    The optimum of a model conditioned on the labels: its test NLL given the
    labels minus this is its gap.

    Example:
    ```python
    conditional_entropy("checkerboard")   # log 4 = 1.3863
    ```
    """
    return _CONDITIONAL_ENTROPIES.get(check_toy_name(name, "conditional_entropy"))


def toy_split(name, split):
    """The fixed `split` (``"train"``, ``"test"`` or ``"all"``) of toy density `name`: points and labels."""
    if split == "all":
        parts = [toy_split(name, part) for part in ("train", "test")]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return sample(name, SPLIT_SIZES[split], seed=SPLIT_SEEDS[split], with_labels=True)


def eight_gaussians(num_samples, seed=0):
    """Eight Gaussians on a circle (radius `4/sqrt 2`, std `0.5/sqrt 2`); entropy 2.8316 nats.

    Example:
    ```python
    eight_gaussians(512, seed=0).shape   # (512, 2)
    ```
    """
    return sample("eight_gaussians", num_samples, seed)


def checkerboard(num_samples, seed=0):
    """Uniform on the 8 dark squares (side 2) of a 4 x 4 board on `[-4, 4]^2`; entropy `log 32` nats."""
    return sample("checkerboard", num_samples, seed)


def two_moons(num_samples, seed=0):
    """Two interleaved half circles with Gaussian noise (std 0.2 after scaling)."""
    return sample("two_moons", num_samples, seed)


def circles(num_samples, seed=0):
    """Two concentric noisy circles of radius 3 and 1.5."""
    return sample("circles", num_samples, seed)


def spirals(num_samples, seed=0):
    """Two interleaved noisy spiral arms."""
    return sample("spirals", num_samples, seed)


def pinwheel(num_samples, seed=0):
    """Five curved arms of a pinwheel."""
    return sample("pinwheel", num_samples, seed)
