"""Beam search against brute-force enumeration and an independent NumPy beam search, on a tiny vocabulary."""

import functools
import itertools

import numpy as np
import pytest
from keras import ops

from artifex_keras import samplers
from artifex_keras.samplers import BeamSampler
from tests.checks.samplers import check_sampler_serialization

VOCABULARY = 3
LENGTH = 4  # one prompt token, then three drawn tokens: 27 continuations
# Seed 34: two beams beat greedy decoding on two prompts, and nine beat two on one.
RNG = np.random.default_rng(34)
TABLE = RNG.normal(scale=2.0, size=(LENGTH, VOCABULARY, VOCABULARY)).astype("float32")
EMBEDDING = RNG.normal(size=(VOCABULARY, 2)).astype("float32")
READOUT = RNG.normal(size=(2, VOCABULARY)).astype("float32")
PROMPTS = np.array([0, 1, 2, 1])


def numpy_log_softmax(logits):
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def numpy_step(state, token, index):
    """A recurrent toy model: state `h += E[x_t]`, next logits `h W + TABLE[t, x_t]`."""
    state = state + EMBEDDING[token]
    return state, state @ READOUT + TABLE[index, token]


def sequence_log_prob(sequence):
    state, total = np.zeros(2, "float64"), 0.0
    for index in range(LENGTH - 1):
        state, logits = numpy_step(state, sequence[index], index)
        total += numpy_log_softmax(logits.astype("float64"))[sequence[index + 1]]
    return total


def brute_force(prompt):
    candidates = [(prompt, *rest) for rest in itertools.product(range(VOCABULARY), repeat=LENGTH - 1)]
    return np.array(max(candidates, key=sequence_log_prob))


def numpy_beam_search(prompt, beams):
    hypotheses = [((prompt,), 0.0, *numpy_step(np.zeros(2, "float64"), prompt, 0))]
    for index in range(1, LENGTH):
        extended = []
        for tokens, score, state, logits in hypotheses:
            log_probs = numpy_log_softmax(logits.astype("float64"))
            extended += [(tokens + (t,), score + log_probs[t], state) for t in range(VOCABULARY)]
        extended.sort(key=lambda h: -h[1])
        hypotheses = [
            (t, s, *numpy_step(h, t[-1], index)) if index < LENGTH - 1 else (t, s, h, None)
            for t, s, h in extended[:beams]
        ]
    return np.array(hypotheses[0][0])


@functools.cache
def search(beams):
    """The continuations of `PROMPTS` found with `beams` beams (each search traced once per run)."""
    return run_search(BeamSampler(num_beams=beams), PROMPTS)


def run_search(sampler, prompts):
    """`sampler.search` on the toy model, with its recurrent state reordered as beams are reselected."""
    beams = sampler.num_beams
    rows = len(prompts) * beams
    ids = np.zeros((rows, LENGTH), "int32")
    ids[:, 0] = np.repeat(prompts, beams)
    table, embedding, readout = (ops.convert_to_tensor(a) for a in (TABLE, EMBEDDING, READOUT))

    def next_logits(ids, index, state):
        token = ops.take(ids, index, axis=1)
        state = state + ops.take(embedding, token, axis=0)
        return ops.matmul(state, readout) + ops.take(ops.take(table, index, axis=0), token, axis=0), state

    logits, state = next_logits(ops.convert_to_tensor(ids), 0, ops.zeros((rows, 2)))
    found = sampler.search(
        ops.convert_to_tensor(ids), 1, logits, next_logits, state=state, reorder=lambda s, r: ops.take(s, r, axis=0)
    )
    return np.asarray(ops.convert_to_numpy(found))


def test_enough_beams_find_the_most_likely_continuation():
    found = search(VOCABULARY ** (LENGTH - 2))
    assert found.dtype == np.int32 and found.shape == (len(PROMPTS), LENGTH)
    for prompt, sequence in zip(PROMPTS, found):
        np.testing.assert_array_equal(sequence, brute_force(prompt))


@pytest.mark.parametrize("beams", [1, 2])
def test_few_beams_match_a_numpy_beam_search(beams):
    found = search(beams)
    for prompt, sequence in zip(PROMPTS, found):
        np.testing.assert_array_equal(sequence, numpy_beam_search(prompt, beams))


def test_one_beam_is_greedy_and_two_can_beat_it():
    greedy = search(1)
    for prompt, sequence in zip(PROMPTS, greedy):
        state, tokens = np.zeros(2), [prompt]
        for index in range(LENGTH - 1):
            state, logits = numpy_step(state, tokens[-1], index)
            tokens.append(int(np.argmax(logits)))
        np.testing.assert_array_equal(sequence, tokens)
    wider = search(2)
    scores = [(sequence_log_prob(a), sequence_log_prob(b)) for a, b in zip(greedy, wider)]
    # On this table a wider beam finds a strictly more likely sequence for some prompts.
    assert sum(b > a + 1e-6 for a, b in scores) == 2, scores
    exhaustive = search(VOCABULARY ** (LENGTH - 2))
    assert sum(sequence_log_prob(a) > sequence_log_prob(b) + 1e-6 for a, b in zip(exhaustive, wider)) == 1


def test_serialisation_and_errors():
    check_sampler_serialization(BeamSampler(num_beams=3))
    assert samplers.get("beam") == BeamSampler(4)
    with pytest.raises(ValueError, match=r"BeamSampler: `num_beams` must be a positive int, got 0"):
        BeamSampler(num_beams=0)
    with pytest.raises(ValueError, match=r"`num_beams` must be at most the number of categories \(3\), got 4"):
        BeamSampler(4).check_categories("owner", 3)
