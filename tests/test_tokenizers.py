"""Tokenizers: round trips, unknown characters, BPE merges against a brute-force trainer, serialisation."""

import collections
import json

import numpy as np
import pytest

from artifex_keras import tokenizers
from artifex_keras.tokenizers import BytePairTokenizer
from artifex_keras.tokenizers import ByteTokenizer
from artifex_keras.tokenizers import CharacterTokenizer

TEXT = (
    "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"
    "The slings and arrows of outrageous fortune,\nOr to take arms against a sea of troubles\n"
    "And by opposing end them. To die: to sleep; 1601, 1602.\n"
)


def brute_force_merges(text, num_merges):
    """Byte-pair merges by recounting every pair of every word occurrence before each merge."""
    words = [list(word.encode("utf-8")) for word in tokenizers._WORD_PATTERN.findall(text)]
    merges = []
    for step in range(num_merges):
        counts = collections.Counter(pair for word in words for pair in zip(word, word[1:]))
        if not counts or max(counts.values()) < 2:
            break
        best = max(counts.items(), key=lambda item: (item[1], (-item[0][0], -item[0][1])))[0]
        merges.append(best)
        new = []
        for word in words:
            merged, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    merged.append(256 + step)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            new.append(merged)
        words = new
    return merges, [token for word in words for token in word]


def test_character_round_trip_and_ids():
    tokenizer = CharacterTokenizer.from_text(TEXT)
    assert tokenizer.vocabulary == "".join(sorted(set(TEXT)))
    ids = tokenizer.encode("To be")
    assert ids.dtype == np.int32
    np.testing.assert_array_equal(ids, [tokenizer.vocabulary.index(c) for c in "To be"])
    assert tokenizer.decode(tokenizer.encode(TEXT)) == TEXT
    assert tokenizer.encode("").shape == (0,) and tokenizer.decode([]) == ""
    assert CharacterTokenizer(["a", "b"]) == CharacterTokenizer("ab")


def test_unknown_character_is_named():
    tokenizer = CharacterTokenizer("abc")
    with pytest.raises(ValueError, match=r"character 'z' \(at position 2 of `text`\) is not in the vocabulary"):
        tokenizer.encode("abzc")
    with pytest.raises(ValueError, match=r"`ids` must lie in \[0, 2\], got values in \[0, 3\]"):
        tokenizer.decode([0, 3])
    with pytest.raises(ValueError, match=r"each character once, got 'a' repeated"):
        CharacterTokenizer("aba")
    with pytest.raises(ValueError, match=r"`text` must be a str"):
        tokenizer.encode(b"ab")


def test_byte_tokenizer_is_utf8():
    tokenizer = ByteTokenizer()
    assert tokenizer.vocabulary_size == 256
    np.testing.assert_array_equal(tokenizer.encode("aé"), [97, 195, 169])
    assert tokenizer.decode(tokenizer.encode("naïve ✓")) == "naïve ✓"
    assert tokenizer.decode([97, 195]) == "a\ufffd"  # a cut multi-byte character


def test_bpe_merges_match_a_brute_force_trainer():
    expected, expected_tokens = brute_force_merges(TEXT, 40)
    tokenizer = BytePairTokenizer.train(TEXT, vocabulary_size=256 + 40)
    assert tokenizer.merges == expected and tokenizer.vocabulary_size == 256 + len(expected)
    # Encoding the training text by merge rank gives the trainer's own segmentation.
    np.testing.assert_array_equal(tokenizer.encode(TEXT), expected_tokens)
    assert tokenizer.decode(tokenizer.encode(TEXT)) == TEXT
    unseen = "Ay, there's the rub; é ✓"
    assert tokenizer.decode(tokenizer.encode(unseen)) == unseen
    assert len(tokenizer.encode(TEXT)) < len(TEXT.encode("utf-8")) * 0.7


def test_bpe_stops_when_no_pair_repeats():
    tokenizer = BytePairTokenizer.train("abcd", vocabulary_size=300)
    assert tokenizer.merges == []
    with pytest.raises(ValueError, match=r"`vocabulary_size` must be an int of at least 256, got 100"):
        BytePairTokenizer.train("abab", vocabulary_size=100)
    with pytest.raises(ValueError, match=r"`merges\[1\]` must be a pair of token ids below 257"):
        BytePairTokenizer([[97, 98], [97, 300]])


@pytest.mark.parametrize(
    "tokenizer",
    [CharacterTokenizer("ab\n"), ByteTokenizer(), BytePairTokenizer([[97, 98], [256, 256]])],
    ids=["character", "byte", "byte_pair"],
)
def test_serialisation_round_trip(tokenizer):
    config = json.loads(json.dumps(tokenizers.serialize(tokenizer)))
    again = tokenizers.get(config)
    assert again == tokenizer and type(again) is type(tokenizer)
    np.testing.assert_array_equal(again.encode("abab\n"), tokenizer.encode("abab\n"))
    assert tokenizers.get(tokenizer) is tokenizer


def test_get_errors():
    assert tokenizers.list_tokenizers() == ["byte", "byte_pair", "character"]
    assert tokenizers.get("byte") == ByteTokenizer()
    with pytest.raises(ValueError, match=r"unknown tokenizer 'bytes'. Did you mean 'byte'"):
        tokenizers.get("bytes")
    with pytest.raises(ValueError, match=r"`identifier` must be a tokenizer name"):
        tokenizers.get(3)
