"""`run_model_checks`: every shared check a generative model's test runs, with flags for what it cannot do."""

from tests.checks.config import check_config_round_trip
from tests.checks.data import fit_arguments
from tests.checks.sampling import check_compiled_sampling
from tests.checks.sampling import check_sampling
from tests.checks.saving import check_keras_round_trip
from tests.checks.saving import check_preset_round_trip
from tests.checks.saving import check_resume
from tests.checks.training import check_loss_falls
from tests.checks.training import check_phases_update_their_variables


def run_model_checks(
    cls,
    init_kwargs,
    train_data,
    generate_kwargs=None,
    tmp_path=None,
    adversarial=False,
    value_range=None,
    epochs=8,
    learning_rate=3e-3,
):
    """Config round trip; training; sampling (plain and compiled); `.keras`, preset and resume (with `tmp_path`).

    Args:
        adversarial: check that every phase moves only its own variables
            instead of that the loss falls (GANs, contrastive families).
        value_range: the range every sample must lie in, or None.
    """
    model = check_config_round_trip(cls, init_kwargs)
    if adversarial:
        check_phases_update_their_variables(model, train_data)
        model.compile()
        model.fit(*fit_arguments(train_data), epochs=1, batch_size=64, verbose=0)
    else:
        check_loss_falls(model, train_data, epochs=epochs, learning_rate=learning_rate)
    check_sampling(model, generate_kwargs, value_range=value_range)
    check_compiled_sampling(model, generate_kwargs)
    if tmp_path is not None:
        x, y = fit_arguments(train_data)
        inputs = x[:16] if y is None else (x[:16], y[:16])
        check_keras_round_trip(model, inputs, tmp_path, generate_kwargs)
        check_preset_round_trip(model, tmp_path, generate_kwargs)
        small = x[:64] if y is None else (x[:64], y[:64])
        check_resume(lambda: cls(**init_kwargs), small, tmp_path)
    return model
