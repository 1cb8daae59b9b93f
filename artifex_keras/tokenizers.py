"""Tokenizers: text to integer ids and back, serialisable as JSON with a model's config and preset.

Three kinds, all pure Python and NumPy (they run before the model, on any backend):

- `CharacterTokenizer`: one id per character of a fixed vocabulary (built
  from a corpus with `CharacterTokenizer.from_text`); an unknown character
  is an error that names it.
- `ByteTokenizer`: the 256 byte values of the UTF-8 encoding; knows every text.
- `BytePairTokenizer`: byte-level byte-pair encoding whose merges are learned
  from a corpus with `BytePairTokenizer.train` (Sennrich et al., 2016).

Example:
```python
from artifex_keras import tokenizers

chars = tokenizers.CharacterTokenizer.from_text("to be or not to be")
chars.encode("to be")                     # array([6, 3, 0, 1, 2], dtype=int32)
chars.decode(chars.encode("to be"))       # 'to be'
bpe = tokenizers.BytePairTokenizer.train(text, vocabulary_size=512)
tokenizers.get(tokenizers.serialize(bpe)) == bpe                  # True
```
"""

import abc
import collections
import re

import numpy as np

from artifex_keras.named_classes import NamedClasses

TOKENIZERS = NamedClasses("tokenizer", "tokenizers.get", name_attribute="tokenizer_name")
# Words keep their leading space (as in GPT-2), so merges never cross a word boundary.
_WORD_PATTERN = re.compile(r" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+")


def register_tokenizer(name):
    """Class decorator: `tokenizers.get(name)` and configs naming `name` build this class."""
    return TOKENIZERS.register(name)


class Tokenizer(abc.ABC):
    """Base of every tokenizer: `encode`, `decode`, `vocabulary_size`, and its config.

    Subclasses store their vocabulary in `get_config()`; `from_config` rebuilds
    an equal tokenizer, so a model stores its tokenizer in its own config.
    """

    tokenizer_name = None

    @property
    @abc.abstractmethod
    def vocabulary_size(self):
        """How many token ids there are: ids lie in `[0, vocabulary_size)`."""

    @abc.abstractmethod
    def encode(self, text):
        """Token ids of `text` as an int32 array."""

    @abc.abstractmethod
    def decode(self, ids):
        """The text of a sequence of token ids."""

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _check_ids(self, ids):
        ids = np.asarray(ids)
        if ids.ndim != 1 or not (np.issubdtype(ids.dtype, np.integer) or ids.size == 0):
            raise ValueError(
                f"{type(self).__name__}.decode: `ids` must be a 1-D sequence of integer ids, "
                f"got {ids.dtype} array of shape {ids.shape}"
            )
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocabulary_size):
            raise ValueError(
                f"{type(self).__name__}.decode: `ids` must lie in [0, {self.vocabulary_size - 1}], "
                f"got values in [{ids.min()}, {ids.max()}]"
            )
        return ids.astype(np.int64)

    def _check_text(self, method, text):
        if not isinstance(text, str):
            raise ValueError(f"{type(self).__name__}.{method}: `text` must be a str, got {type(text).__name__}")
        return text

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash((type(self).__name__, repr(self.get_config())))

    def __repr__(self):
        return f"{type(self).__name__}(vocabulary_size={self.vocabulary_size})"


def serialize(tokenizer):
    """`{"class_name": NAME, "config": {...}}`, plain JSON (what a model config stores)."""
    if not isinstance(tokenizer, Tokenizer):
        raise ValueError(f"tokenizers.serialize: expected a Tokenizer, got {tokenizer!r}")
    return {"class_name": tokenizer.tokenizer_name, "config": tokenizer.get_config()}


def get(identifier):
    """A `Tokenizer` from a registered name (``"byte"``), a `serialize` dict, or an instance.

    Example:
    ```python
    get("byte"); get({"class_name": "character", "config": {"vocabulary": "ab"}})
    ```
    """
    return TOKENIZERS.get(identifier, Tokenizer)


def list_tokenizers():
    """Sorted names `get` accepts."""
    return TOKENIZERS.names()


@register_tokenizer("character")
class CharacterTokenizer(Tokenizer):
    """One id per character: id `i` is `vocabulary[i]`.

    Args:
        vocabulary: the characters, each once, as a string (or a list of
            one-character strings).

    Example:
    ```python
    tokenizer = CharacterTokenizer.from_text(load_text("shakespeare", "train"))   # 84 characters
    tokenizer.encode("ROMEO:")
    ```
    """

    def __init__(self, vocabulary):
        owner = type(self).__name__
        if isinstance(vocabulary, (list, tuple)):
            if not all(isinstance(c, str) and len(c) == 1 for c in vocabulary):
                raise ValueError(f"{owner}: `vocabulary` must hold single characters, got {vocabulary!r}")
            vocabulary = "".join(vocabulary)
        if not isinstance(vocabulary, str) or not vocabulary:
            raise ValueError(f"{owner}: `vocabulary` must be a non-empty string of characters, got {vocabulary!r}")
        repeated = sorted({c for c in vocabulary if vocabulary.count(c) > 1})
        if repeated:
            raise ValueError(f"{owner}: `vocabulary` must hold each character once, got {repeated[0]!r} repeated")
        self.vocabulary = vocabulary
        self._ids = {c: i for i, c in enumerate(vocabulary)}
        self._table = np.array(list(vocabulary), dtype=object)

    @classmethod
    def from_text(cls, text):
        """The tokenizer of the sorted distinct characters of `text`."""
        if not isinstance(text, str) or not text:
            raise ValueError(f"{cls.__name__}.from_text: `text` must be a non-empty str, got {text!r:.40}")
        return cls("".join(sorted(set(text))))

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    def encode(self, text):
        self._check_text("encode", text)
        try:
            return np.fromiter((self._ids[c] for c in text), dtype=np.int32, count=len(text))
        except KeyError:
            position, char = next((i, c) for i, c in enumerate(text) if c not in self._ids)
            raise ValueError(
                f"{type(self).__name__}.encode: character {char!r} (at position {position} of `text`) is not in "
                f"the vocabulary of {self.vocabulary_size} characters {self.vocabulary!r}"
            ) from None

    def decode(self, ids):
        return "".join(self._table[self._check_ids(ids)])

    def get_config(self):
        return {"vocabulary": self.vocabulary}


@register_tokenizer("byte")
class ByteTokenizer(Tokenizer):
    """The bytes of the UTF-8 encoding: 256 ids, every text encodes.

    Decoding a sequence that cuts a multi-byte character shows U+FFFD for it.

    Example:
    ```python
    ByteTokenizer().encode("é")     # array([195, 169], dtype=int32)
    ```
    """

    @property
    def vocabulary_size(self):
        return 256

    def encode(self, text):
        return np.frombuffer(self._check_text("encode", text).encode("utf-8"), dtype=np.uint8).astype(np.int32)

    def decode(self, ids):
        return self._check_ids(ids).astype(np.uint8).tobytes().decode("utf-8", errors="replace")


@register_tokenizer("byte_pair")
class BytePairTokenizer(Tokenizer):
    """Byte-level byte-pair encoding: the 256 bytes, then one new token per learned merge.

    Text is split into words (letters, digits or punctuation runs with their
    leading space, and whitespace runs); within a word, the pair of adjacent
    tokens whose merge was learned first is merged, until no learned pair is
    left. Every text encodes; no merge crosses a word.

    Args:
        merges: the learned merges in order, each a pair `[left, right]` of
            token ids; merge `i` makes token `256 + i`.

    Example:
    ```python
    bpe = BytePairTokenizer.train(load_text("shakespeare", "train"), vocabulary_size=1024)
    bpe.decode(bpe.encode("ROMEO:")) == "ROMEO:"   # True
    ```

    Reference:
        Sennrich, Haddow & Birch, "Neural Machine Translation of Rare Words
        with Subword Units", ACL 2016.
    """

    def __init__(self, merges=()):
        owner = type(self).__name__
        pairs = []
        for index, pair in enumerate(merges):
            valid = isinstance(pair, (list, tuple)) and len(pair) == 2
            valid = valid and all(isinstance(t, (int, np.integer)) and 0 <= t < 256 + index for t in pair)
            if not valid:
                raise ValueError(
                    f"{owner}: `merges[{index}]` must be a pair of token ids below {256 + index}, got {pair!r}"
                )
            pairs.append((int(pair[0]), int(pair[1])))
        self.merges = pairs
        self._ranks = {pair: rank for rank, pair in enumerate(pairs)}
        pieces = [bytes([b]) for b in range(256)]
        for left, right in pairs:
            pieces.append(pieces[left] + pieces[right])
        self._pieces = pieces
        self._cache = {}

    @classmethod
    def train(cls, text, vocabulary_size):
        """Learn `vocabulary_size - 256` merges from `text`: each merges the most frequent adjacent pair.

        Ties go to the smallest pair of ids, so training is deterministic.
        Stops early when no pair occurs twice.
        """
        owner = f"{cls.__name__}.train"
        if not isinstance(text, str) or not text:
            raise ValueError(f"{owner}: `text` must be a non-empty str, got {text!r:.40}")
        if isinstance(vocabulary_size, bool) or not isinstance(vocabulary_size, int) or vocabulary_size < 256:
            raise ValueError(f"{owner}: `vocabulary_size` must be an int of at least 256, got {vocabulary_size!r}")
        counts = collections.Counter(_WORD_PATTERN.findall(text))
        words = [list(word.encode("utf-8")) for word in counts]
        frequencies = list(counts.values())
        pair_counts = collections.Counter()
        where = collections.defaultdict(set)
        for index, word in enumerate(words):
            for pair in zip(word, word[1:]):
                pair_counts[pair] += frequencies[index]
                where[pair].add(index)
        merges = []
        while len(merges) < vocabulary_size - 256 and pair_counts:
            best = min(pair_counts, key=lambda pair: (-pair_counts[pair], pair))
            if pair_counts[best] < 2:
                break
            new = 256 + len(merges)
            merges.append(best)
            for index in where.pop(best):
                word, frequency = words[index], frequencies[index]
                for pair in zip(word, word[1:]):
                    pair_counts[pair] -= frequency
                    if pair_counts[pair] <= 0:
                        del pair_counts[pair]
                word = _merge(word, best, new)
                words[index] = word
                for pair in zip(word, word[1:]):
                    pair_counts[pair] += frequency
                    where[pair].add(index)
        return cls([list(pair) for pair in merges])

    @property
    def vocabulary_size(self):
        return 256 + len(self.merges)

    def encode(self, text):
        self._check_text("encode", text)
        ids = []
        for word in _WORD_PATTERN.findall(text):
            if word not in self._cache:
                self._cache[word] = self._encode_word(word)
            ids.extend(self._cache[word])
        return np.array(ids, dtype=np.int32)

    def _encode_word(self, word):
        tokens = list(word.encode("utf-8"))
        while len(tokens) > 1:
            ranked = [(self._ranks.get(pair, len(self._ranks)), pair) for pair in zip(tokens, tokens[1:])]
            rank, pair = min(ranked)
            if rank == len(self._ranks):
                break
            tokens = _merge(tokens, pair, 256 + rank)
        return tokens

    def decode(self, ids):
        return b"".join(self._pieces[i] for i in self._check_ids(ids)).decode("utf-8", errors="replace")

    def get_config(self):
        return {"merges": [list(pair) for pair in self.merges]}


def _merge(tokens, pair, new):
    """`tokens` with every non-overlapping occurrence of `pair`, left to right, replaced by `new`."""
    merged = []
    index = 0
    while index < len(tokens):
        if index + 1 < len(tokens) and (tokens[index], tokens[index + 1]) == pair:
            merged.append(new)
            index += 2
        else:
            merged.append(tokens[index])
            index += 1
    return merged
