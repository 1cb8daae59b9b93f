"""Presets: a directory with `config.json`, `metadata.json` and optional weights.

A preset is named by a shipped name (see `list_presets()`), a local directory,
or a remote handle (`hf://owner/repo`, `kaggle://owner/model/...`) when the
matching hub client is installed.

Example:
```python
import artifex_keras as ak
ak.list_presets()                         # ['beta_vae_fashion_mnist', ...]
model = ak.from_preset("vae_fashion_mnist")
model.save_to_preset("my_vae/")
same = ak.from_preset("my_vae/")
```
"""

import datetime
import difflib
import importlib
import json
import os
import pathlib

import keras

CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.weights.h5"


def shipped_presets_dir():
    """Folder of the presets shipped with the package (wheel or source tree)."""
    packaged = pathlib.Path(__file__).parent / "shipped_presets"
    if packaged.is_dir():
        return packaged
    return pathlib.Path(__file__).resolve().parent.parent / "presets"


def _shipped():
    root = shipped_presets_dir()
    if not root.is_dir():
        return {}
    found = {}
    for child in sorted(root.iterdir()):
        if (child / CONFIG_FILE).is_file():
            found[child.name] = child
    return found


def list_presets(family=None):
    """Sorted names of the shipped presets, optionally only those of one family."""
    names = []
    for name, path in _shipped().items():
        if family is None or _read_json(path / METADATA_FILE).get("family") == family:
            names.append(name)
    return names


def preset_metadata(preset):
    """The `metadata.json` of a preset (name or directory) as a dict."""
    return _read_json(resolve_preset(preset) / METADATA_FILE)


def resolve_preset(preset):
    """Directory holding a preset given by shipped name, local path or hub handle."""
    if not isinstance(preset, (str, os.PathLike)):
        raise ValueError(f"from_preset: `preset` must be a preset name or a directory, got {preset!r}")
    text = str(preset)
    if text.startswith(("hf://", "kaggle://")):
        return _download(text)
    path = pathlib.Path(text).expanduser()
    if path.is_dir():
        if not (path / CONFIG_FILE).is_file():
            raise ValueError(f"from_preset: directory {text!r} is not a preset: it has no {CONFIG_FILE}")
        return path
    shipped = _shipped()
    if text in shipped:
        return shipped[text]
    close = difflib.get_close_matches(text, list(shipped), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"from_preset: unknown preset {text!r}.{hint} "
        f"Available: {', '.join(shipped) or '(none)'}; or pass a preset directory."
    )


def preset_class(preset):
    """The model class a preset holds, importing only the module that defines it.

    `config.json` names the class as Keras does (`module`, `class_name`,
    `registered_name`); importing the module registers the class with Keras.
    """
    directory = resolve_preset(preset)
    spec = _read_json(directory / CONFIG_FILE)
    missing = [key for key in ("module", "registered_name", "config") if key not in spec]
    if missing:
        raise ValueError(
            f"from_preset: {directory / CONFIG_FILE} lacks {', '.join(repr(k) for k in missing)}; "
            "it was not written by `save_to_preset`"
        )
    try:
        importlib.import_module(spec["module"])
    except ImportError as error:
        raise ImportError(f"from_preset: preset {str(preset)!r} needs module {spec['module']!r}: {error}") from error
    cls = keras.saving.get_registered_object(spec["registered_name"])
    if cls is None:
        raise ValueError(
            f"from_preset: {spec['registered_name']!r} (preset {str(preset)!r}) is not registered by module "
            f"{spec['module']!r}"
        )
    return cls


def load_preset(preset, expected_class=None, load_weights=True, **overrides):
    """Build the model a preset describes and load its weights.

    `overrides` replace config fields (for example `seed=1`).
    """
    directory = resolve_preset(preset)
    spec = _read_json(directory / CONFIG_FILE)
    cls = preset_class(directory)
    if expected_class is not None and not issubclass(cls, expected_class):
        raise ValueError(
            f"{expected_class.__name__}.from_preset: preset {str(preset)!r} holds a "
            f"{cls.__name__}, not a {expected_class.__name__}; use artifex_keras.from_preset"
        )
    model = cls.from_config({**spec["config"], **overrides})
    weights = directory / WEIGHTS_FILE
    if load_weights and weights.is_file():
        model.load_weights(str(weights))
    return model


def save_preset(model, directory, metadata=None):
    """Write `model` as a preset directory (config, metadata, weights)."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    spec = {
        "module": type(model).__module__,
        "class_name": type(model).__name__,
        "registered_name": keras.saving.get_registered_name(type(model)),
        "config": model.get_config(),
    }
    (directory / CONFIG_FILE).write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
    previous = _read_json(directory / METADATA_FILE) if (directory / METADATA_FILE).is_file() else {}
    info = {
        **previous,
        "family": getattr(model, "family", None),
        "class_name": type(model).__name__,
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "parameters": int(model.count_params()),
        "saved_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **(metadata or {}),
    }
    (directory / METADATA_FILE).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    _weights_without_optimizer(model).save_weights(str(directory / WEIGHTS_FILE))
    return directory


def _weights_without_optimizer(model):
    """`model`, or an uncompiled copy: `save_weights` would also store optimizer state."""
    if getattr(model, "optimizer", None) is None:
        return model
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def _read_json(path):
    try:
        return json.loads(pathlib.Path(path).read_text())
    except FileNotFoundError:
        return {}


def _download(handle):
    if handle.startswith("hf://"):
        try:
            import huggingface_hub
        except ImportError as error:
            raise ImportError(f"from_preset: {handle!r} needs `pip install huggingface_hub`") from error
        return pathlib.Path(huggingface_hub.snapshot_download(handle[len("hf://"):]))
    try:
        import kagglehub
    except ImportError as error:
        raise ImportError(f"from_preset: {handle!r} needs `pip install kagglehub`") from error
    return pathlib.Path(kagglehub.model_download(handle[len("kaggle://"):]))
