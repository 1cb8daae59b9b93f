"""Layer checks: config and Keras serialisation round trips, and `.keras` files of a model around the layer."""

import keras
import numpy as np


def _numpy_tree(outputs):
    return keras.tree.map_structure(lambda t: np.array(keras.ops.convert_to_numpy(t)), outputs)


def _assert_same(actual, expected, atol):
    keras.tree.assert_same_structure(actual, expected)
    for got, want in zip(keras.tree.flatten(actual), keras.tree.flatten(expected)):
        np.testing.assert_allclose(got, want, atol=atol, rtol=0)


def check_layer(layer, inputs, expected_output_shape=None, tmp_path=None, atol=1e-6):
    """Rebuilt from its config (and from Keras serialisation) with the same weights, a layer gives the same outputs.

    With `tmp_path`, a functional model around the layer also survives a
    `.keras` save and `load_model`. `expected_output_shape` is a shape, or a
    structure of shapes for layers that return several tensors.
    """
    outputs = _numpy_tree(layer(inputs))
    if expected_output_shape is not None:
        shapes = keras.tree.map_structure(lambda array: tuple(array.shape), outputs)
        assert shapes == expected_output_shape, shapes
    config = layer.get_config()
    for restored in (type(layer).from_config(config),
                     keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))):  # fmt: skip
        assert type(restored) is type(layer) and restored.get_config() == config
        restored(inputs)
        restored.set_weights(layer.get_weights())
        _assert_same(_numpy_tree(restored(inputs)), outputs, atol)
    if tmp_path is not None:
        symbolic = keras.Input(tuple(inputs.shape[1:]))
        model = keras.Model(symbolic, layer(symbolic))
        path = str(tmp_path / f"{layer.name}.keras")
        model.save(path)
        _assert_same(_numpy_tree(keras.saving.load_model(path)(inputs)), outputs, atol)
