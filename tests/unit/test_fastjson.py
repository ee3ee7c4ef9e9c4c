import json

import pytest
from hypothesis import given, strategies as st

from hakobune import _fastjson

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(values)
def test_round_trips_like_the_json_package(value):
    text = _fastjson.dumps(value)
    assert json.loads(text) == value
    assert _fastjson.loads(text) == value
    assert _fastjson.loads(json.dumps(value, indent=2)) == value


@pytest.mark.parametrize("bad", ["", "{", '{"a": 1,}', "[1] [2]", "NaN", "tru"])
def test_malformed_input_is_a_value_error(bad):
    with pytest.raises(ValueError):
        _fastjson.loads(bad)


def test_unserialisable_values_are_refused():
    with pytest.raises(TypeError):
        _fastjson.dumps({"a": object()})


def test_errors_are_clear_even_before_the_json_package_is_imported():
    import subprocess
    import sys

    script = ("from hakobune import _fastjson\n"
              "for text in ('{\"a\": [1, }', '{\"a\" 1}'):\n"
              "    try:\n        _fastjson.loads(text)\n"
              "    except ValueError as e:\n        print(e)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["Expecting value: char 10", "Expecting ':' delimiter: line 1 column 6 (char 5)"]
