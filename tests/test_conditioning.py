"""Condition specs (ClassLabels, ContextVector, TokenIds) and how models expose and check them."""

import re

import numpy as np
import pytest

from artifex_keras.conditioning import ClassLabels
from artifex_keras.conditioning import ContextVector
from artifex_keras.conditioning import TokenIds
from artifex_keras.models import VAE
from artifex_keras.models import ConditionalVAE

TINY = dict(latent_dim=2, hidden_dims=(8,))


def test_arguments_and_equality():
    assert (ClassLabels.argument, ContextVector.argument, TokenIds.argument) == ("labels", "condition", "prompt")
    assert ClassLabels(3) == ClassLabels(num_classes=3) != ClassLabels(4)
    assert ContextVector((2,)) == ContextVector(shape=(2,))
    assert TokenIds(5) == TokenIds(vocabulary_size=5, start_id=0) != TokenIds(5, start_id=1)


def test_class_labels_examples_cycle_through_the_classes():
    examples = ClassLabels(3).examples(7)
    assert examples.dtype == np.int32
    np.testing.assert_array_equal(examples, [0, 1, 2, 0, 1, 2, 0])


def test_class_labels_check_accepts_and_broadcasts():
    spec = ClassLabels(3)
    labels = spec.check("Owner", [2, 0, 1], 3)
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, [2, 0, 1])
    np.testing.assert_array_equal(spec.check("Owner", np.array([1, 1], dtype="int64"), 2), [1, 1])
    broadcast = spec.check("Owner", 2, 4)
    assert broadcast.dtype == np.int32
    np.testing.assert_array_equal(broadcast, [2, 2, 2, 2])


@pytest.mark.parametrize(
    ("value", "num_samples", "message"),
    [
        ([0, 3], 2, "Owner: `labels` must lie in [0, 2], got values in [0, 3]"),
        ([-1, 1], 2, "Owner: `labels` must lie in [0, 2], got values in [-1, 1]"),
        (5, 2, "Owner: `labels` must lie in [0, 2], got values in [5, 5]"),
        ([0.0, 1.0], 2, "Owner: `labels` must hold integer class ids, got dtype float64"),
        (1.5, 2, "Owner: `labels` must hold integer class ids, got dtype float64"),
        ([0, 1], 3, "Owner: `labels` must hold 3 labels, got 2"),
        ([[0], [1]], 2, "Owner: `labels` must be a 1-D array of class ids, got shape (2, 1)"),
    ],
)
def test_class_labels_check_rejects(value, num_samples, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ClassLabels(3).check("Owner", value, num_samples)


def test_context_vector_examples_are_seeded_standard_normal():
    spec = ContextVector((2, 3))
    examples = spec.examples(4)
    assert examples.dtype == np.float32
    np.testing.assert_array_equal(examples, np.random.default_rng(0).standard_normal((4, 2, 3)).astype("float32"))
    expected = np.random.default_rng(5).standard_normal((4, 2, 3)).astype("float32")
    np.testing.assert_array_equal(spec.examples(4, seed=5), expected)


def test_context_vector_check_accepts_finite_floats():
    value = [[0.5, -1.25], [3.0, 0.0], [1e-3, 2.5]]
    checked = ContextVector((2,)).check("Owner", value, 3)
    assert checked.dtype == np.float32
    np.testing.assert_array_equal(checked, np.array(value, dtype="float32"))


@pytest.mark.parametrize(
    ("value", "num_samples", "message"),
    [
        (np.zeros((3, 5)), 3, "Owner: `condition` must have shape (batch, 2), got shape (3, 5)"),
        (np.zeros(3), 3, "Owner: `condition` must have shape (batch, 2), got shape (3,)"),
        (np.zeros((2, 2)), 3, "Owner: `condition` must hold 3 vectors, got 2"),
        ([[0.0, np.nan], [1.0, np.inf]], 2, "Owner: `condition` must be finite, got 2 NaN or infinite value(s)"),
        (np.zeros((2, 2), dtype="int32"), 2, "Owner: `condition` must be a floating-point array"),
    ],
)
def test_context_vector_check_rejects(value, num_samples, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ContextVector((2,)).check("Owner", value, num_samples)


def test_token_ids_examples_are_start_tokens():
    examples = TokenIds(vocabulary_size=5, start_id=2).examples(3)
    assert examples.dtype == np.int32
    np.testing.assert_array_equal(examples, [[2], [2], [2]])
    np.testing.assert_array_equal(TokenIds(5).examples(2), [[0], [0]])


def test_token_ids_check_accepts_ids_in_range():
    checked = TokenIds(5).check("Owner", [[0, 4, 2], [1, 3, 3]], 2)
    assert checked.dtype == np.int32
    np.testing.assert_array_equal(checked, [[0, 4, 2], [1, 3, 3]])


@pytest.mark.parametrize(
    ("value", "num_samples", "message"),
    [
        ([[0, 5]], 1, "Owner: `prompt` ids must lie in [0, 4], got values in [0, 5]"),
        ([[-1, 2]], 1, "Owner: `prompt` ids must lie in [0, 4], got values in [-1, 2]"),
        (
            np.array([0, 1]),
            2,
            "Owner: `prompt` must be integer token ids of shape (2, length), got int64 array of shape (2,)",
        ),
        (np.zeros((2, 1, 1), "int64"), 2, "of shape (2, length), got int64 array of shape (2, 1, 1)"),
        (np.zeros((3, 1), "int64"), 2, "of shape (2, length), got int64 array of shape (3, 1)"),
        (np.zeros((2, 1)), 2, "of shape (2, length), got float64 array of shape (2, 1)"),
    ],
)
def test_token_ids_check_rejects(value, num_samples, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        TokenIds(5).check("Owner", value, num_samples)


@pytest.fixture(scope="module")
def conditional():
    return ConditionalVAE(input_shape=(8, 8, 1), num_classes=3, seed=0, **TINY)


@pytest.fixture(scope="module")
def unconditional():
    return VAE(input_shape=(8, 8, 1), seed=0, **TINY)


def test_conditional_model_exposes_its_labels(conditional):
    assert conditional.condition_spec() == ClassLabels(3)
    assert conditional.label_spec() == ClassLabels(3)
    conditions = conditional.example_conditions(4)
    assert list(conditions) == ["labels"]
    np.testing.assert_array_equal(conditions["labels"], [0, 1, 2, 0])


def test_unconditional_model_has_no_conditions(unconditional):
    assert unconditional.condition_spec() is None
    assert unconditional.label_spec() is None
    assert unconditional.example_conditions(3) == {}


def test_generate_rejects_wrong_conditions(conditional, unconditional):
    with pytest.raises(ValueError, match="VAE.generate: unexpected argument `labels`; VAE is unconditional"):
        unconditional.generate(2, labels=[0, 1])
    message = (
        "ConditionalVAE.generate: `labels` is required by the conditional ConditionalVAE (ints in [0, 2]), got None"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        conditional.generate(2)
    with pytest.raises(ValueError, match=re.escape("ConditionalVAE.generate: `labels` must lie in [0, 2]")):
        conditional.generate(2, labels=[0, 3])
    with pytest.raises(
        ValueError, match="ConditionalVAE.generate: unexpected argument `condition`; ConditionalVAE takes `labels`"
    ):
        conditional.generate(2, labels=[0, 1], condition=np.zeros((2, 2)))


def test_decoder_sees_each_samples_label(conditional):
    zeros = conditional.generate(2, labels=[0, 0], seed=0)
    ones = conditional.generate(2, labels=[1, 1], seed=0)
    assert np.max(np.abs(zeros - ones)) > 1e-3
    np.testing.assert_array_equal(conditional.generate(2, labels=[0, 0], seed=0), zeros)
    np.testing.assert_array_equal(conditional.generate(2, labels=1, seed=0), ones)
    # Same seed, same latents: each row follows its own label.
    mixed = conditional.generate(2, labels=[0, 1], seed=0)
    np.testing.assert_allclose(mixed[0], zeros[0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(mixed[1], ones[1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        conditional.generate(3, **conditional.example_conditions(3), seed=0)[:2], mixed, atol=1e-6
    )
