"""The offline speech recording: splits, windows, sample-rate and installation errors."""

import importlib.metadata

import numpy as np
import pytest
import soundfile

from artifex_keras import data
from artifex_keras.data import audio


def test_speech_splits_are_disjoint_windows_of_the_recording():
    waveform = data.load_audio(data.speech_path())
    assert waveform.shape == (30 * 16000,) and waveform.dtype == np.float32
    train, labels = data.load("speech", split="train")
    test = data.load("speech", split="test", with_labels=False)
    assert train.shape == (24 * 16000 // 4096, 4096) and test.shape == (6 * 16000 // 4096, 4096)
    np.testing.assert_array_equal(train[1], waveform[4096:8192])
    np.testing.assert_array_equal(test[0], waveform[24 * 16000 : 24 * 16000 + 4096])
    assert np.all(labels == 0) and data.class_names("speech") == ["speech"]
    assert np.abs(train).max() <= 1.0


def test_audio_windows():
    windows = data.audio_windows(np.arange(10.0), 4, stride=3)
    np.testing.assert_array_equal(windows, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])
    with pytest.raises(ValueError, match="`length` must be a positive int, got 0"):
        data.audio_windows(np.arange(10.0), 0)
    with pytest.raises(ValueError, match="at least `length`=20 samples"):
        data.audio_windows(np.arange(10.0), 20)


def test_audio_at_another_sample_rate_is_refused(tmp_path):
    path = tmp_path / "tone.wav"
    soundfile.write(path, np.zeros((800, 2), "float32"), 8000)
    with pytest.raises(ValueError, match="tone.wav is sampled at 8000 Hz, expected `sample_rate`=16000"):
        data.load_audio(path)
    assert data.load_audio(path, sample_rate=8000).shape == (800,)


def test_missing_wheel_names_the_install_command(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(audio.importlib.metadata, "distribution", missing)
    with pytest.raises(data.DatasetUnavailableError, match="pip install --no-deps pyannote-audio"):
        data.load("speech")
