"""`NamedClasses`: classes registered under short names, built from a name, a config dict or an instance.

Samplers, noise schedules and tokenizers each keep one: `samplers.get("ddim")`,
`schedules.get({"class_name": "cosine", "config": {...}})` and
`tokenizers.get(tokenizer)` all go through `NamedClasses.get`, with the same
close-match errors.

Example:
```python
SCHEDULES = NamedClasses("schedule", "schedules.get", name_attribute="schedule_name")

@SCHEDULES.register("linear")
class LinearSchedule(NoiseSchedule): ...

SCHEDULES.get("linear")                   # LinearSchedule()
SCHEDULES.get("linaer")                   # ValueError: ... Did you mean 'linear'?
```
"""

import difflib

import keras


class NamedClasses:
    """A name -> class table with a decorator to fill it and `get` to build from it.

    Args:
        kind: what the classes are, in messages (``"sampler"``).
        caller: the public function named in `get`'s errors (``"samplers.get"``).
        name_attribute: class attribute set to the registered name.
        keras_serializable: also register each class for Keras serialisation.
    """

    def __init__(self, kind, caller, name_attribute, keras_serializable=False):
        self.kind = kind
        self.caller = caller
        self.name_attribute = name_attribute
        self.keras_serializable = keras_serializable
        self.classes = {}

    def register(self, name):
        """Class decorator: register the class under `name` (a name taken by another class is an error)."""

        def decorator(cls):
            if name in self.classes and self.classes[name] is not cls:
                raise ValueError(f"register_{self.kind}: name {name!r} is already taken by "
                                 f"{self.classes[name].__name__}")  # fmt: skip
            self.classes[name] = cls
            setattr(cls, self.name_attribute, name)
            if self.keras_serializable:
                return keras.saving.register_keras_serializable(package="artifex_keras")(cls)
            return cls

        return decorator

    def names(self):
        """Sorted registered names."""
        return sorted(self.classes)

    def lookup(self, name):
        """The class registered as `name` or with that class name, else None."""
        by_class_name = {cls.__name__: cls for cls in self.classes.values()}
        return self.classes.get(name) or by_class_name.get(name)

    def class_named(self, name):
        """The class registered as `name` (or with that class name); a ValueError with close matches otherwise."""
        cls = self.lookup(name)
        if cls is not None:
            return cls
        close = difflib.get_close_matches(str(name), self.names(), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"{self.caller}: unknown {self.kind} {name!r}.{hint} Available: {', '.join(self.names())}")

    def get(self, identifier, base):
        """An instance of `base` from a registered name, a `{"class_name": ..., "config": {...}}` dict or itself."""
        if isinstance(identifier, base):
            return identifier
        if isinstance(identifier, str):
            return self.class_named(identifier)()
        if isinstance(identifier, dict) and "class_name" in identifier:
            config = identifier.get("config") or {}
            if not isinstance(config, dict):
                raise ValueError(f"{self.caller}: 'config' must be a dict, got {config!r}")
            return self.class_named(identifier["class_name"]).from_config(config)
        raise ValueError(
            f"{self.caller}: `identifier` must be a {self.kind} name, a dict with 'class_name' and 'config', "
            f"or a {base.__name__}, got {identifier!r}"
        )
