import pytest

from artifex_keras.named_classes import NamedClasses


class Shape:
    def __init__(self, size=1):
        self.size = size

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def make_table():
    table = NamedClasses("shape", "shapes.get", name_attribute="shape_name")

    @table.register("square")
    class Square(Shape):
        pass

    @table.register("circle")
    class Circle(Shape):
        pass

    return table, Square, Circle


def test_get_builds_from_a_name_a_class_name_a_config_or_an_instance():
    table, square, circle = make_table()
    assert table.names() == ["circle", "square"]
    assert square.shape_name == "square"
    assert type(table.get("square", Shape)) is square
    assert type(table.get("Circle", Shape)) is circle
    built = table.get({"class_name": "circle", "config": {"size": 3}}, Shape)
    assert type(built) is circle and built.size == 3
    instance = square(size=5)
    assert table.get(instance, Shape) is instance


def test_errors_name_the_caller_and_close_matches():
    table, square, _ = make_table()
    with pytest.raises(ValueError, match=r"shapes.get: unknown shape 'sqare'. Did you mean 'square'\? Available"):
        table.get("sqare", Shape)
    with pytest.raises(ValueError, match=r"shapes.get: 'config' must be a dict, got \[1\]"):
        table.get({"class_name": "square", "config": [1]}, Shape)
    with pytest.raises(ValueError, match=r"`identifier` must be a shape name, .* or a Shape, got 3"):
        table.get(3, Shape)
    with pytest.raises(ValueError, match="register_shape: name 'square' is already taken by Square"):
        table.register("square")(type("Other", (Shape,), {}))
    assert table.register("square")(square) is square  # registering the same class again is allowed
