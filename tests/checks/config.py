"""Config checks: construction from kwargs and from the config agree; `get_config`/`from_config` round trip."""


def check_config_round_trip(cls, init_kwargs):
    """Build `cls` both ways, rebuild it from its Keras config; returns the model.

    Fails when a field is dropped from `get_config`, when `from_config`
    builds other weights, or when the config object and kwargs disagree.
    """
    model = cls(**init_kwargs)
    again = cls(cls.config_class(**init_kwargs))
    assert again.config == model.config
    config = model.get_config()
    rebuilt = cls.from_config(config)
    assert rebuilt.get_config() == config
    assert [v.shape for v in rebuilt.weights] == [v.shape for v in model.weights]
    for name, value in init_kwargs.items():
        assert getattr(model.config, name) == (tuple(value) if isinstance(value, list) else value), name
    return model
