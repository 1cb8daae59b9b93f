"""Audio for autoregressive models: waveforms as float32 NumPy arrays in [-1, 1].

``"speech"`` is the 30-second, 16 kHz recording of people talking that the
`pyannote-audio` wheel ships (``pyannote/audio/sample/sample.wav``); install
the wheel without its dependencies (``pip install --no-deps pyannote-audio``),
nothing of it is imported. Its first 24 seconds are the train split, the last
6 seconds the test split; `load("speech", split=...)` cuts a split into
windows of `SPEECH_WINDOW` samples.

Example:
```python
import artifex_keras as ak
waveform = ak.data.load_audio(ak.data.speech_path())         # (480000,) float32, 16 kHz
x, _ = ak.data.load("speech", split="test")                   # (23, 4096) windows
```
"""

import importlib.metadata
import pathlib

import numpy as np

SPEECH_SAMPLE_RATE = 16000
SPEECH_WINDOW = 4096
SPEECH_TRAIN_SECONDS = 24
SPEECH_DATASETS = ("speech",)
_SPEECH_FILE = "pyannote/audio/sample/sample.wav"


def speech_path():
    """Path of the recording behind ``"speech"``; a clear error when `pyannote-audio` is not installed."""
    for distribution in ("pyannote.audio", "pyannote-audio"):
        try:
            path = pathlib.Path(importlib.metadata.distribution(distribution).locate_file(_SPEECH_FILE))
        except importlib.metadata.PackageNotFoundError:
            continue
        if path.is_file():
            return path
    from .loaders import DatasetUnavailableError

    raise DatasetUnavailableError(
        "speech: the recording ships with the pyannote-audio wheel; install it with "
        "`pip install --no-deps pyannote-audio` (nothing of it is imported)"
    )


def load_audio(path, sample_rate=SPEECH_SAMPLE_RATE):
    """A mono float32 waveform in [-1, 1] read with soundfile; channels are averaged.

    Args:
        path: an audio file soundfile reads (WAV, FLAC, OGG, ...).
        sample_rate: the rate the caller expects; a file at another rate is
            refused (resample it first) rather than silently played at the wrong speed.
    """
    import soundfile

    waveform, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    if rate != sample_rate:
        raise ValueError(
            f"load_audio: {pathlib.Path(path).name} is sampled at {rate} Hz, expected `sample_rate`={sample_rate} "
            "(resample it first)"
        )
    return waveform.mean(axis=1)


def audio_windows(waveform, length, stride=None):
    """Consecutive windows `(n, length)` of a 1-D waveform (`stride` defaults to `length`: no overlap).

    Example:
    ```python
    audio_windows(np.arange(10.0), 4)     # rows [0..3], [4..7]; the tail shorter than a window is dropped
    ```
    """
    waveform = np.asarray(waveform, dtype=np.float32)
    stride = length if stride is None else stride
    for name, value in (("length", length), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"audio_windows: `{name}` must be a positive int, got {value!r}")
    if waveform.ndim != 1 or len(waveform) < length:
        raise ValueError(
            f"audio_windows: `waveform` must be 1-D with at least `length`={length} samples, got shape {waveform.shape}"
        )
    starts = np.arange(0, len(waveform) - length + 1, stride)
    return np.stack([waveform[start : start + length] for start in starts])


def speech_split(split):
    """`(windows, labels)` of a split of ``"speech"``: `(n, SPEECH_WINDOW)` float32 and zeros (one recording)."""
    waveform = load_audio(speech_path())
    boundary = SPEECH_TRAIN_SECONDS * SPEECH_SAMPLE_RATE
    parts = {"train": [waveform[:boundary]], "test": [waveform[boundary:]]}
    parts["all"] = parts["train"] + parts["test"]
    windows = np.concatenate([audio_windows(part, SPEECH_WINDOW) for part in parts[split]])
    return windows, np.zeros(len(windows), dtype=np.int32)
