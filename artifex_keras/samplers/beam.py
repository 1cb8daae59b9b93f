"""Beam search: the most likely continuations of a sequence, kept `num_beams` at a time.

Unlike a `TokenSampler`, which picks one token per row of logits, beam
search scores whole continuations, so it drives the model's loop: the model
hands `search` a function that returns next-token logits for every beam and
a function that reorders its own state (a key/value cache) when beams are
reselected.

Example:
```python
from artifex_keras import samplers
lm.generate(2, prompt="ROMEO:", max_length=64, sampler=samplers.BeamSampler(num_beams=4))
```
"""

import numpy as np
from keras import ops

from artifex_keras import validation
from artifex_keras.samplers.base import Sampler
from artifex_keras.samplers.base import register_sampler


@register_sampler("beam")
class BeamSampler(Sampler):
    """Beam search: at each position keep the `num_beams` continuations of highest total log-probability.

    Deterministic (it draws nothing). With `num_beams=1` it is greedy
    decoding; with enough beams (`vocabulary ** (steps - 1)`) it finds the
    most likely continuation exactly.

    Args:
        num_beams: continuations kept per sequence; at most the vocabulary size.

    Example:
    ```python
    lm.generate(4, prompt="ROMEO:", max_length=100, sampler=BeamSampler(num_beams=5))
    ```

    Reference:
        Graves, "Sequence Transduction with Recurrent Neural Networks", 2012;
        Sutskever, Vinyals & Le, "Sequence to Sequence Learning with Neural
        Networks", NeurIPS 2014.
    """

    def __init__(self, num_beams=4):
        self.num_beams = validation.check_positive_int(type(self).__name__, "num_beams", num_beams)

    def check_categories(self, owner, num_categories):
        if self.num_beams > num_categories:
            raise ValueError(
                f"{owner}: BeamSampler `num_beams` must be at most the number of categories ({num_categories}), "
                f"got {self.num_beams}"
            )

    def get_config(self):
        return {"num_beams": self.num_beams}

    def search(self, ids, start, logits, next_logits, state=(), reorder=None):
        """The best continuation of each sequence: int32 ids `(batch, length)`.

        Args:
            ids: int ids `(batch * num_beams, length)`, each sequence repeated
                `num_beams` times (rows `b * num_beams + j`); positions from
                `start` on are filled in.
            start: the first position to fill (a Python int).
            logits: next-token logits at `start`, `(batch * num_beams, vocabulary)`.
            next_logits: `next_logits(ids, index, state)` -> `(logits, state)`:
                the logits at `index + 1` once `ids[:, index]` is set.
            state: the model's loop state (a tensor or tuple of tensors).
            reorder: `reorder(state, rows)` -> the state of the beams `rows`
                (int32 `(batch * num_beams,)` indices of the rows to keep).
        """
        beams = self.num_beams
        rows, length = ids.shape[0], ids.shape[1]
        batch = rows // beams
        vocabulary = logits.shape[-1]
        positions = ops.arange(length, dtype="int32")[None, :]
        # Only the first copy of each sequence starts alive, so the first step does not pick one token K times.
        first = np.where(np.arange(beams) == 0, 0.0, -np.inf).astype("float32")
        scores = ops.tile(ops.convert_to_tensor(first)[None, :], (batch, 1))
        offsets = ops.repeat(ops.arange(batch, dtype="int32") * beams, beams)

        def step(index, carry):
            ids, scores, logits, state = carry
            log_probs = ops.reshape(ops.log_softmax(ops.cast(logits, "float32"), axis=-1), (batch, beams, vocabulary))
            totals = ops.reshape(scores[:, :, None] + log_probs, (batch, beams * vocabulary))
            scores, chosen = ops.top_k(totals, beams)
            chosen = ops.cast(chosen, "int32")
            source = offsets + ops.reshape(chosen // vocabulary, (-1,))
            tokens = ops.reshape(chosen % vocabulary, (-1, 1))
            ids = ops.where(positions == index, tokens, ops.take(ids, source, axis=0))
            if reorder is not None:
                state = reorder(state, source)
            logits, state = next_logits(ids, index, state)
            return ids, scores, logits, state

        ids, scores, _, _ = ops.fori_loop(start, length, step, (ids, scores, logits, state))
        # top_k sorts the beams, so the first of each sequence is its best.
        return ops.take(ids, ops.arange(batch, dtype="int32") * beams, axis=0)
