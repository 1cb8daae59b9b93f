"""Decoder-only Transformer language model with rotary positions and a key/value cache for generation."""

import dataclasses
import math

import keras
import numpy as np
from keras import layers
from keras import ops

from artifex_keras import tokenizers
from artifex_keras import validation
from artifex_keras.conditioning import TokenIds
from artifex_keras.config import Config
from artifex_keras.data.text import text_windows
from artifex_keras.models.autoregressive.transformer_blocks import DecoderBlock
from artifex_keras.models.base import GenerativeModel
from artifex_keras.models.base import chunk_size
from artifex_keras.models.registration import register_model
from artifex_keras.samplers import BeamSampler
from artifex_keras.samplers import RandomSampler
from artifex_keras.samplers import TokenSampler
from artifex_keras.samplers import draw_with_state
from artifex_keras.samplers import loop_seed_state


@dataclasses.dataclass(frozen=True)
class TransformerLMConfig(Config):
    """Configuration of a `TransformerLM`.

    Args:
        tokenizer: the tokenizer, stored as JSON with the model: a name
            (``"byte"``), a `tokenizers.serialize` dict, or a `Tokenizer`
            (converted to its dict).
        context_length: most tokens the model attends to; training windows
            have this many tokens (the first is context only).
        embedding_dim: width of the residual stream.
        num_layers: decoder blocks.
        num_heads: attention heads; `embedding_dim / num_heads` must be even
            (rotary embeddings rotate pairs of dimensions).
        hidden_dim: width of each block's MLP.
        dropout: dropout rate after attention and MLP while training.
        rope_max_wavelength: the longest wavelength of the rotary embedding.
        seed: seed of the model's random draws.
    """

    tokenizer: object = "byte"
    context_length: int = 128
    embedding_dim: int = 128
    num_layers: int = 4
    num_heads: int = 4
    hidden_dim: int = 512
    dropout: float = 0.0
    rope_max_wavelength: float = 10000.0
    seed: int | None = None

    def __post_init__(self):
        if isinstance(self.tokenizer, tokenizers.Tokenizer):
            object.__setattr__(self, "tokenizer", tokenizers.serialize(self.tokenizer))
        super().__post_init__()

    def validate(self):
        try:
            tokenizers.get(self.tokenizer)
        except ValueError as error:
            raise ValueError(f"{type(self).__name__}: `tokenizer` is not a tokenizer: {error}") from None
        for name in ("context_length", "embedding_dim", "num_layers", "num_heads", "hidden_dim"):
            self.check_positive_int(name)
        if self.context_length < 2:
            self._fail("context_length", "an int of at least 2", self.context_length)
        if self.embedding_dim % self.num_heads or (self.embedding_dim // self.num_heads) % 2:
            raise ValueError(
                f"{type(self).__name__}: `embedding_dim` must be a multiple of 2 * `num_heads` (an even head size "
                f"for rotary embeddings), got embedding_dim={self.embedding_dim}, num_heads={self.num_heads}"
            )
        self.check_number("dropout", low=0.0, high=1.0, high_inclusive=False)
        self.check_number("rope_max_wavelength", low=1.0)
        if self.seed is not None:
            self.check_non_negative_int("seed")


@register_model("transformer_lm")
class TransformerLM(GenerativeModel):
    """Decoder-only Transformer language model: pre-norm blocks, rotary positions, causal attention.

    Tokens are embedded, passed through `num_layers` blocks (each: layer
    norm, causal multi-head self-attention through
    `keras.ops.dot_product_attention` with rotary position embeddings on
    queries and keys, residual; layer norm, GELU MLP, residual), normalised
    and projected to next-token logits. Training minimises the cross entropy
    of every token of a window given the tokens before it. `generate` draws
    text token by token in one compiled `ops.fori_loop`, with a key/value
    cache by default (`use_cache=False` reruns the whole sequence per token;
    both give the same tokens for the same draws). The tokenizer is part of
    the config, so `.keras` files and presets carry it.

    Args:
        config: a `TransformerLMConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    from artifex_keras import data, tokenizers
    text = data.load_text("shakespeare", works=["macbeth"])
    tokenizer = tokenizers.CharacterTokenizer.from_text(text)
    lm = TransformerLM(tokenizer=tokenizer, context_length=64, embedding_dim=64, num_layers=2,
                       num_heads=4, hidden_dim=128)
    lm.fit(data.text_windows(tokenizer.encode(text), 64), epochs=1, batch_size=64)
    lm.generate(4, prompt="MACBETH:", max_length=64, sampler="greedy", seed=0)   # 4 strings
    lm.bits_per_character(text[:2000])
    ```

    Reference:
        Radford et al., "Language Models are Unsupervised Multitask Learners"
        (GPT-2), 2019; Su et al., "RoFormer: Enhanced Transformer with Rotary
        Position Embedding", 2021; Pope et al., "Efficiently Scaling
        Transformer Inference" (key/value cache), 2022.
    """

    config_class = TransformerLMConfig
    family = "autoregressive"
    metric_names = ("loss", "bits_per_token")
    accepted_samplers = (TokenSampler, BeamSampler)

    def build_networks(self):
        config = self.config
        self.tokenizer = tokenizers.get(config.tokenizer)
        self.vocabulary_size = self.tokenizer.vocabulary_size
        head_dim = config.embedding_dim // config.num_heads
        self.token_embedding = layers.Embedding(self.vocabulary_size, config.embedding_dim, name="token_embedding")
        self.token_embedding.build((None, None))
        self.blocks = [
            DecoderBlock(
                config.embedding_dim,
                config.num_heads,
                head_dim,
                config.hidden_dim,
                dropout=config.dropout,
                max_wavelength=config.rope_max_wavelength,
                name=f"block_{index}",
            )
            for index in range(config.num_layers)
        ]
        for block in self.blocks:
            block.build((None, None, config.embedding_dim))
        self.final_norm = layers.LayerNormalization(epsilon=1e-5, name="final_norm")
        self.final_norm.build((None, None, config.embedding_dim))
        self.head = layers.Dense(self.vocabulary_size, name="head")
        self.head.build((None, None, config.embedding_dim))

    # Data ---------------------------------------------------------------------
    @property
    def data_shape(self):
        return (self.config.context_length,)

    def check_training_data(self, x, y, method):
        owner = f"{type(self).__name__}.{method}"
        validation.check_data_loader(owner, "x", x)
        if validation.is_array_like(x):
            self._check_ids(owner, "x", x, lengths=(self.config.context_length,))
            if not len(x):
                raise ValueError(f"{owner}: `x` must hold at least one window, got shape {tuple(x.shape)}")

    def check_batch_spec(self, data, method):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        if not validation.is_array_like(x):
            return
        owner = f"{type(self).__name__}.{method}"
        dtype = keras.backend.standardize_dtype(x.dtype)
        if "int" not in dtype:
            raise ValueError(f"{owner}: batches of `x` must hold integer token ids, got dtype {dtype}")
        if len(x.shape) != 2 or x.shape[1] not in (None, self.config.context_length):
            raise ValueError(
                f"{owner}: batches of `x` must have shape (batch, {self.config.context_length}), "
                f"got shape {tuple(x.shape)}"
            )

    def _check_ids(self, owner, argument, ids, lengths=None):
        if not validation.is_array_like(ids):
            ids = np.asarray(ids)
        array = np.asarray(ids)
        if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(
                f"{owner}: `{argument}` must be integer token ids of shape (batch, length), "
                f"got {array.dtype} array of shape {array.shape}"
            )
        if lengths is not None and array.shape[1] not in lengths:
            allowed = lengths[0] if len(lengths) == 1 else f"{lengths[0]} to {lengths[-1]}"
            raise ValueError(
                f"{owner}: `{argument}` must hold sequences of {allowed} tokens, got shape {array.shape}"
            )
        if array.size and (array.min() < 0 or array.max() >= self.vocabulary_size):
            raise ValueError(
                f"{owner}: `{argument}` ids must lie in [0, {self.vocabulary_size - 1}], "
                f"got values in [{array.min()}, {array.max()}]"
            )
        return array.astype("int32")

    # Network (backend tensors) --------------------------------------------------
    def logits(self, ids, training=False):
        """Next-token logits `(batch, length, vocabulary_size)` in float32: position `t` predicts token `t + 1`."""
        ids = ops.cast(ids, "int32")
        positions = ops.arange(ids.shape[1], dtype="int32")
        x = self.token_embedding(ids)
        for block in self.blocks:
            x, _ = block(x, positions, training=training)
        return ops.cast(self.head(self.final_norm(x)), "float32")

    def cached_logits(self, ids, cache, start):
        """Logits of `ids` `(batch, length)` at positions `start, start + 1, ...`, reading and writing `cache`.

        `cache` is `(num_layers, 2, batch, max_length, heads, head_dim)`; a
        multi-token `ids` (the prompt) must start at position 0.
        """
        positions = ops.cast(start, "int32") + ops.arange(ids.shape[1], dtype="int32")
        x = self.token_embedding(ops.cast(ids, "int32"))
        layers_cache = []
        for index, block in enumerate(self.blocks):
            x, layer_cache = block(x, positions, cache=cache[index])
            layers_cache.append(layer_cache)
        return ops.cast(self.head(self.final_norm(x)), "float32"), ops.stack(layers_cache)

    def empty_cache(self, batch, max_length):
        """A zero key/value cache for `batch` sequences of up to `max_length` tokens."""
        config = self.config
        heads = config.num_heads
        shape = (config.num_layers, 2, batch, max_length, heads, config.embedding_dim // heads)
        return ops.zeros(shape, dtype=self.compute_dtype)

    def token_log_probs(self, ids, training=False):
        """`log p(ids[:, t] | ids[:, :t])` for `t >= 1`: `(batch, length - 1)` float32."""
        ids = ops.cast(ids, "int32")
        log_probs = ops.log_softmax(self.logits(ids[:, :-1], training=training), axis=-1)
        return ops.squeeze(ops.take_along_axis(log_probs, ids[:, 1:, None], axis=-1), axis=-1)

    def call(self, inputs, training=False):
        return self.logits(inputs, training=training)

    def compute_generative_loss(self, data, training=True):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        loss = -ops.mean(self.token_log_probs(x, training=training))
        return loss, {"loss": loss, "bits_per_token": loss / math.log(2.0)}

    # Conditioning and samplers ------------------------------------------------
    def condition_spec(self):
        newline = self._encoded_or_none("\n")
        start = int(newline[-1]) if newline is not None and len(newline) else 0
        return TokenIds(self.vocabulary_size, start_id=start)

    def _encoded_or_none(self, text):
        try:
            return self.tokenizer.encode(text)
        except ValueError:
            return None

    def default_sampler(self):
        return RandomSampler()

    def check_sampler(self, owner, sampler):
        sampler.check_categories(owner, self.vocabulary_size)

    # Generation -----------------------------------------------------------------
    def prompt_ids(self, owner, prompt, num_samples):
        """`prompt` (a str, a list of `num_samples` str of equal token length, or ids) as int32 `(num_samples, P)`."""
        if prompt is None:
            return self.condition_spec().examples(num_samples)
        if isinstance(prompt, str):
            ids = self._encode(owner, prompt)
            return np.tile(ids[None, :], (num_samples, 1))
        if isinstance(prompt, (list, tuple)) and prompt and all(isinstance(p, str) for p in prompt):
            if len(prompt) != num_samples:
                raise ValueError(f"{owner}: `prompt` must hold {num_samples} strings, got {len(prompt)}")
            encoded = [self._encode(owner, p) for p in prompt]
            if len({len(ids) for ids in encoded}) > 1:
                raise ValueError(
                    f"{owner}: the strings of `prompt` must have the same number of tokens, got "
                    f"{sorted({len(ids) for ids in encoded})}"
                )
            return np.stack(encoded).astype("int32")
        return self.condition_spec().check(owner, prompt, num_samples)

    def _encode(self, owner, text):
        try:
            ids = self.tokenizer.encode(text)
        except ValueError as error:
            raise ValueError(f"{owner}: `prompt` cannot be tokenized: {error}") from None
        if not len(ids):
            raise ValueError(f"{owner}: `prompt` must hold at least one token, got {text!r}")
        return ids

    def generate(
        self, num_samples, seed=None, batch_size=256, sampler=None, prompt=None, max_length=None, use_cache=True
    ):
        """Draw `num_samples` texts that continue `prompt`; returns a list of strings (prompt included).

        Args:
            num_samples: how many texts.
            seed: an int makes the draw reproducible; None advances the
                model's own seed generator.
            batch_size: most texts per compiled call.
            sampler: a `TokenSampler` (greedy, random, top-k, top-p) or a
                `BeamSampler`, its name or config; default `RandomSampler()`.
            prompt: a str, a list of `num_samples` str with the same number
                of tokens, or int token ids `(num_samples, P)`; None starts
                from one newline token.
            max_length: tokens per text, prompt included; at most
                `context_length` (the default).
            use_cache: reuse each position's keys and values (one block
                call per new token) instead of rerunning the whole sequence.

        Example:
        ```python
        lm.generate(4, prompt="ROMEO:", max_length=200, sampler=TopPSampler(p=0.9), seed=0)
        ```
        """
        ids = self.generate_ids(num_samples, seed, batch_size, sampler, prompt, max_length, use_cache)
        return [self.tokenizer.decode(row) for row in ids]

    def generate_ids(
        self, num_samples, seed=None, batch_size=256, sampler=None, prompt=None, max_length=None, use_cache=True
    ):
        """As `generate`, but returns the token ids: int32 NumPy `(num_samples, max_length)`."""
        owner = f"{type(self).__name__}.generate"
        num_samples = validation.check_positive_int(owner, "num_samples", num_samples)
        batch_size = validation.check_positive_int(owner, "batch_size", batch_size)
        seed = validation.check_seed(owner, seed)
        if not isinstance(use_cache, bool):
            raise ValueError(f"{owner}: `use_cache` must be a bool, got {use_cache!r}")
        sampler = self.resolve_sampler(owner, sampler)
        context = self.config.context_length
        prompt = self.prompt_ids(owner, prompt, num_samples)
        length = prompt.shape[1]
        if length > context:
            raise ValueError(
                f"{owner}: `prompt` holds {length} tokens, more than the context of {context} tokens "
                f"(`context_length`)"
            )
        max_length = context if max_length is None else validation.check_positive_int(owner, "max_length", max_length)
        if not length < max_length <= context:
            raise ValueError(
                f"{owner}: `max_length` must exceed the prompt's {length} tokens and be at most the context of "
                f"{context} tokens, got {max_length}"
            )
        generator = self.seed_generator if seed is None else keras.random.SeedGenerator(seed)
        size = chunk_size(num_samples, batch_size)
        key = ("generate", size, length, max_length, use_cache, sampler.cache_key())

        def draw(generator, ids):
            return self.sample(size, generator, sampler=sampler, prompt=ids, max_length=max_length, use_cache=use_cache)

        chunks = self.draw_in_chunks(key, draw, num_samples, size, generator, {"prompt": prompt}, progress=False)
        return np.concatenate([ops.convert_to_numpy(ids)[:count] for ids, count in chunks]).astype("int32")

    def sample(self, num_samples, seed_generator, sampler=None, prompt=None, max_length=None, use_cache=True):
        """Token ids `(num_samples, max_length)`: `prompt` `(num_samples, P)` then drawn tokens (backend tensor)."""
        sampler = sampler or self.default_sampler()
        prompt = ops.cast(ops.convert_to_tensor(prompt), "int32")
        length = prompt.shape[1]
        max_length = max_length or self.config.context_length
        ids = ops.concatenate([prompt, ops.zeros((num_samples, max_length - length), dtype="int32")], axis=1)
        if isinstance(sampler, BeamSampler):
            return self._beam_search(sampler, prompt, ids, use_cache)
        positions = ops.arange(max_length, dtype="int32")[None, :]
        seed_state = loop_seed_state(seed_generator)

        def draw(logits, state):
            return draw_with_state(seed_generator, state, lambda: sampler.next_token(logits, seed_generator))

        if use_cache:
            logits, cache = self.cached_logits(prompt, self.empty_cache(num_samples, max_length), 0)

            def step(index, carry):
                ids, last, cache, state = carry
                token, state = draw(last, state)
                ids = ops.where(positions == index, token[:, None], ids)
                logits, cache = self.cached_logits(token[:, None], cache, index)
                return ids, logits[:, -1], cache, state

            ids, _, _, _ = ops.fori_loop(length, max_length, step, (ids, logits[:, -1], cache, seed_state))
            return ids

        def full_step(index, carry):
            ids, state = carry
            # Causal attention: the logits at `index - 1` ignore the zeros after it.
            token, state = draw(ops.take(self.logits(ids), index - 1, axis=1), state)
            return ops.where(positions == index, token[:, None], ids), state

        ids, _ = ops.fori_loop(length, max_length, full_step, (ids, seed_state))
        return ids

    def _beam_search(self, sampler, prompt, ids, use_cache):
        """The best of `sampler.num_beams` continuations of each prompt (the beams share one batch axis)."""
        beams = sampler.num_beams
        num_samples, length = prompt.shape
        ids = ops.repeat(ids, beams, axis=0)
        if use_cache:
            logits, cache = self.cached_logits(prompt, self.empty_cache(num_samples, ids.shape[1]), 0)

            def next_logits(ids, index, cache):
                logits, cache = self.cached_logits(ops.take(ids, index, axis=1)[:, None], cache, index)
                return logits[:, -1], cache

            # The cache's batch axis is 2: (layers, keys/values, batch, ...).
            return sampler.search(
                ids,
                length,
                ops.repeat(logits[:, -1], beams, axis=0),
                next_logits,
                state=ops.repeat(cache, beams, axis=2),
                reorder=lambda cache, rows: ops.take(cache, rows, axis=2),
            )

        def full_logits(ids, index, state):
            return ops.take(self.logits(ids), index, axis=1), state

        logits = ops.repeat(self.logits(prompt)[:, -1], beams, axis=0)
        return sampler.search(ids, length, logits, full_logits, state=ops.zeros((1,)))

    # Likelihoods (NumPy) ----------------------------------------------------------
    def log_prob(self, ids, batch_size=256):
        """`log p(ids[:, 1:] | ids[:, 0])` in nats per sequence (the first token is context), float32 NumPy.

        Args:
            ids: int token ids `(batch, length)` with `2 <= length <= context_length`.
        """
        owner = f"{type(self).__name__}.log_prob"
        ids = self._check_ids(owner, "ids", ids, lengths=tuple(range(2, self.config.context_length + 1)))
        return self._token_log_probs(ids, batch_size).sum(axis=1)

    def _token_log_probs(self, ids, batch_size):
        return self.map_compiled(
            ("token_log_probs", ids.shape[1]), lambda g, batch: self.token_log_probs(batch), batch_size, ids
        )

    def text_nll(self, text, batch_size=256):
        """`(total nats, predicted tokens, predicted characters)` of `text`, every token after the first scored once.

        The text is cut into windows of `context_length` tokens that overlap
        by one token; a last shorter window scores only the tokens no window
        scored before.
        """
        owner = f"{type(self).__name__}.text_nll"
        if not isinstance(text, str):
            raise ValueError(f"{owner}: `text` must be a str, got {type(text).__name__}")
        try:
            ids = self.tokenizer.encode(text)
        except ValueError as error:
            raise ValueError(f"{owner}: `text` cannot be tokenized: {error}") from None
        if len(ids) < 2:
            raise ValueError(f"{owner}: `text` must hold at least 2 tokens, got {len(ids)}")
        context = self.config.context_length
        window = min(context, len(ids))
        windows = text_windows(ids, window)
        total = float(self._token_log_probs(windows, batch_size).astype("float64").sum())
        scored = len(windows) * (window - 1)
        rest = len(ids) - 1 - scored
        if rest:
            tail = self._token_log_probs(ids[None, -window:].astype("int32"), batch_size)[0, -rest:]
            total += float(tail.astype("float64").sum())
        characters = len(text) - len(self.tokenizer.decode(ids[:1]))
        return -total, len(ids) - 1, characters

    def perplexity(self, text, batch_size=256):
        """`exp` of the mean next-token cross entropy (nats) over `text`."""
        nats, tokens, _ = self.text_nll(text, batch_size)
        return math.exp(nats / tokens)

    def bits_per_character(self, text, batch_size=256):
        """Cross entropy of `text` in bits per character (tokenizer independent)."""
        nats, _, characters = self.text_nll(text, batch_size)
        return nats / math.log(2.0) / characters
