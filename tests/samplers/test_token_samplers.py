"""Token samplers: draw frequencies against closed-form distributions, seeding, serialisation, errors, loop helpers."""

import re

import keras
import numpy as np
import pytest
from keras import ops

from artifex_keras import samplers
from artifex_keras.models import VAE
from artifex_keras.samplers import GreedySampler
from artifex_keras.samplers import RandomSampler
from artifex_keras.samplers import TopKSampler
from artifex_keras.samplers import TopPSampler
from tests.checks.samplers import check_sampler_serialization
from tests.checks.samplers import check_token_frequencies

STEPS = 5


def softmax(logits):
    logits = np.asarray(logits, dtype=np.float64)
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


def test_greedy_is_argmax():
    logits = np.random.default_rng(0).normal(size=(64, 10)).astype("float32")
    ids = ops.convert_to_numpy(GreedySampler().next_token(ops.convert_to_tensor(logits), keras.random.SeedGenerator(0)))
    assert ids.dtype == np.int32
    np.testing.assert_array_equal(ids, np.argmax(logits, axis=-1))


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_random_sampler_draws_from_tempered_softmax(temperature):
    logits = np.array([1.0, 0.0, -0.5, 2.0])
    check_token_frequencies(RandomSampler(temperature=temperature), logits, softmax(logits / temperature))


def test_top_k_keeps_only_the_k_most_likely():
    logits = np.random.default_rng(1).normal(size=(2000, 8)).astype("float32")
    ids = ops.convert_to_numpy(
        TopKSampler(k=2).next_token(ops.convert_to_tensor(logits), keras.random.SeedGenerator(0))
    )
    top_two = np.argsort(logits, axis=-1)[:, -2:]
    assert np.all((ids == top_two[:, 0]) | (ids == top_two[:, 1]))
    # Both kept categories do get drawn.
    assert np.mean(ids == top_two[:, 0]) > 0.1 and np.mean(ids == top_two[:, 1]) > 0.1


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_top_k_frequencies_are_the_renormalised_softmax(temperature):
    logits = np.array([0.5, 2.0, -1.0, 1.0])
    expected = np.zeros(4)
    expected[[1, 3]] = softmax(logits[[1, 3]] / temperature)
    check_token_frequencies(TopKSampler(k=2, temperature=temperature), logits, expected)


def test_top_k_keeps_ties_with_the_kth():
    logits = np.array([3.0, 1.0, 1.0, 0.0])
    expected = np.append(softmax(logits[:3]), 0.0)
    check_token_frequencies(TopKSampler(k=2), logits, expected)


def test_top_p_keeps_the_nucleus():
    probabilities = np.array([0.15, 0.5, 0.05, 0.3])
    logits = np.log(probabilities)
    # Mass before the 2nd most likely is 0.5 < 0.7, before the 3rd it is 0.8 >= 0.7.
    check_token_frequencies(TopPSampler(p=0.7), logits, [0.0, 0.625, 0.0, 0.375])
    check_token_frequencies(TopPSampler(p=1.0), logits, probabilities)
    # The most likely category always stays.
    check_token_frequencies(TopPSampler(p=0.1), logits, [0.0, 1.0, 0.0, 0.0])


def test_top_p_applies_the_temperature_before_the_cut():
    probabilities = np.array([0.5, 0.3, 0.15, 0.05])
    # At temperature 0.5 the probabilities become p² / sum(p²) = [0.685, 0.247, 0.062, 0.007]:
    # with p=0.9 the third (mass before it 0.932) is cut, unlike at temperature 1 (mass before it 0.8).
    tempered = probabilities**2 / np.sum(probabilities**2)
    expected = np.append(tempered[:2] / tempered[:2].sum(), [0.0, 0.0])
    check_token_frequencies(TopPSampler(p=0.9, temperature=0.5), np.log(probabilities), expected)
    expected = np.append(probabilities[:3] / probabilities[:3].sum(), 0.0)
    check_token_frequencies(TopPSampler(p=0.9), np.log(probabilities), expected)


@pytest.mark.parametrize("sampler", [RandomSampler(), TopKSampler(k=3), TopPSampler(p=0.9)], ids=repr)
def test_same_seed_same_draws_and_the_generator_advances(sampler):
    logits = ops.zeros((500, 4))
    first = ops.convert_to_numpy(sampler.next_token(logits, keras.random.SeedGenerator(7)))
    again = ops.convert_to_numpy(sampler.next_token(logits, keras.random.SeedGenerator(7)))
    np.testing.assert_array_equal(first, again)
    other = ops.convert_to_numpy(sampler.next_token(logits, keras.random.SeedGenerator(8)))
    assert np.mean(first != other) > 0.5
    generator = keras.random.SeedGenerator(7)
    consecutive = [ops.convert_to_numpy(sampler.next_token(logits, generator)) for _ in range(2)]
    np.testing.assert_array_equal(consecutive[0], first)
    assert np.mean(consecutive[0] != consecutive[1]) > 0.5


def test_get_by_name_and_config():
    assert samplers.get("top_k") == TopKSampler()
    assert samplers.get("TopKSampler") == TopKSampler()
    assert samplers.get({"class_name": "top_k", "config": {"k": 3}}) == TopKSampler(k=3)
    assert samplers.get({"class_name": "random", "config": {"temperature": 0.7}}) == RandomSampler(0.7)
    assert samplers.get(None) is None
    sampler = TopPSampler(p=0.8)
    assert samplers.get(sampler) is sampler
    assert {"greedy", "random", "top_k", "top_p"} <= set(samplers.list_samplers())
    assert samplers.list_samplers() == sorted(samplers.list_samplers())


@pytest.mark.parametrize(
    "sampler",
    [GreedySampler(), RandomSampler(temperature=0.7), TopKSampler(k=3, temperature=0.5), TopPSampler(p=0.8)],
    ids=repr,
)
def test_serialisation_round_trips(sampler):
    check_sampler_serialization(sampler)
    assert samplers.deserialize(samplers.serialize(sampler)) == sampler


def test_equality_follows_the_config():
    assert TopKSampler(k=3) == TopKSampler(k=3, temperature=1.0)
    assert hash(TopKSampler(k=3)) == hash(TopKSampler(k=3))
    assert TopKSampler(k=3) != TopKSampler(k=4)
    assert TopKSampler(k=3) != TopKSampler(k=3, temperature=0.5)
    assert RandomSampler() != TopPSampler(p=1.0)
    assert TopKSampler(k=3).cache_key() != TopKSampler(k=4).cache_key()
    assert repr(TopKSampler(k=3)) == "TopKSampler(k=3, temperature=1.0)"


def test_bad_settings_raise_clear_errors():
    with pytest.raises(ValueError, match="TopKSampler: `k` must be a positive int, got 0"):
        TopKSampler(k=0)
    with pytest.raises(ValueError, match="RandomSampler: `temperature` must be a positive number, got 0"):
        RandomSampler(temperature=0)
    with pytest.raises(ValueError, match="RandomSampler: `temperature` must be a positive number, got nan"):
        RandomSampler(temperature=float("nan"))
    with pytest.raises(ValueError, match=re.escape("TopPSampler: `p` must be a number in (0, 1], got 1.5")):
        TopPSampler(p=1.5)
    with pytest.raises(ValueError, match="unknown sampler 'top_kk'. Did you mean 'top_k'"):
        samplers.get("top_kk")
    with pytest.raises(ValueError, match="samplers.get: `identifier` must be a sampler name.*got 3"):
        samplers.get(3)
    with pytest.raises(
        ValueError, match=re.escape("Owner: TopKSampler `k` must be at most the number of categories (4), got 9")
    ):
        TopKSampler(k=9).check_categories("Owner", 4)
    TopKSampler(k=4).check_categories("Owner", 4)


def uniform_rows(generator):
    """`STEPS` draws of `uniform((3,))` in an `ops.fori_loop`, one per row."""
    rows = ops.arange(STEPS)[:, None]

    def step(i, carry):
        accumulated, state = carry
        values, state = samplers.draw_with_state(generator, state, lambda: keras.random.uniform((3,), seed=generator))
        return ops.where(rows == i, values[None, :], accumulated), state

    initial = (ops.zeros((STEPS, 3)), samplers.loop_seed_state(generator))
    return ops.fori_loop(0, STEPS, step, initial)[0]


def state_after_one_draw(seed):
    generator = keras.random.SeedGenerator(seed)
    keras.random.randint((2,), 0, 10, seed=generator)
    return ops.convert_to_numpy(generator.state)


def test_loop_draws_differ_each_step_and_advance_the_generator_once():
    generator = keras.random.SeedGenerator(3)
    values = ops.convert_to_numpy(uniform_rows(generator))
    assert np.all((values >= 0) & (values < 1))
    assert len({tuple(row) for row in values}) == STEPS
    np.testing.assert_array_equal(ops.convert_to_numpy(generator.state), state_after_one_draw(3))
    np.testing.assert_array_equal(ops.convert_to_numpy(uniform_rows(keras.random.SeedGenerator(3))), values)
    # A second loop on the same generator starts a fresh stream.
    later = ops.convert_to_numpy(uniform_rows(generator))
    assert not np.any(np.isin(later, values))


def test_loop_in_a_compiled_function():
    model = VAE(input_shape=(4, 4, 1), latent_dim=2, hidden_dims=(8,))
    offset = np.arange(STEPS * 3, dtype="float32").reshape(STEPS, 3)
    run = model.compiled_function(("test_loop",), lambda generator, x: x + uniform_rows(generator))

    def call(seed):
        generator = keras.random.SeedGenerator(seed)
        result = ops.convert_to_numpy(run(generator, ops.convert_to_tensor(offset)))
        np.testing.assert_array_equal(ops.convert_to_numpy(generator.state), state_after_one_draw(seed))
        return result

    first = call(3)
    np.testing.assert_array_equal(call(3), first)
    assert not np.any(np.isin(call(4) - offset, first - offset))
    rows = first - offset
    assert len({tuple(row) for row in rows}) == STEPS
    # The compiled loop draws what the same loop draws eagerly.
    eager = ops.convert_to_numpy(uniform_rows(keras.random.SeedGenerator(3)))
    np.testing.assert_allclose(rows, eager, rtol=0, atol=2e-6)
