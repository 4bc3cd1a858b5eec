"""The strict JSON reader: duplicate names, NaN and Infinity, nesting depth, and where errors are."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caiep.errors import InputError
from caiep.strictjson import MAX_DEPTH, exceeds_depth, loads_strict

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def refused(text: str | bytes, **options: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        loads_strict(text, **options)
    return caught.value


@given(json_values)
def test_any_standard_json_reads_back_unchanged(value: Any) -> None:
    assert loads_strict(json.dumps(value)) == value
    assert loads_strict(json.dumps(value).encode("utf-8")) == value


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"a": 1, "a": 2}', "a"),
        ('{"id": "x", "nested": {"type": 1, "type": 1}}', "type"),
        ('[{"ok": 1}, {"k": 1, "k": 1}]', "k"),
        ('{"é": 1, "\\u00e9": 2}', "é"),  # the same name, escaped or not
    ],
)
def test_a_name_repeated_in_one_object_is_refused(text: str, key: str) -> None:
    error = refused(text, source="upload.json")
    assert f"duplicate key {key!r}" in error.message
    assert error.source == "upload.json"


def test_the_same_name_in_different_objects_is_fine() -> None:
    assert loads_strict('{"a": {"a": 1}, "b": [{"a": 2}]}') == {"a": {"a": 1}, "b": [{"a": 2}]}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_constants_are_refused(constant: str) -> None:
    error = refused(f'{{"score": {constant}}}')
    assert f"{constant} is not a JSON value" in error.message
    assert "RFC 8259" in error.message


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_nesting_up_to_the_limit_is_read_and_one_more_is_refused() -> None:
    assert loads_strict(nested(MAX_DEPTH)) is not None
    assert f"nested deeper than {MAX_DEPTH} levels" in refused(nested(MAX_DEPTH + 1)).message
    assert loads_strict(nested(3), max_depth=3) == [[[]]]
    assert "deeper than 2" in refused('{"a": {"b": {}}}', max_depth=2).message


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"note": "[" * 500 + "{" * 500 + '\\"]'})
    assert loads_strict(text)["note"].startswith("[[[")
    assert not exceeds_depth(text, 2)


def test_a_hostile_depth_is_refused_quickly_without_recursing() -> None:
    start = time.perf_counter()
    assert "nested deeper" in refused(nested(500_000)).message
    assert time.perf_counter() - start < 2


def test_syntax_errors_say_where() -> None:
    error = refused('{\n  "a": 1,\n  "b": ]\n}', source="credential.json")
    assert error.message.startswith("not valid JSON")
    assert error.location == "line 3 column 8"
    assert str(error).startswith("credential.json:line 3 column 8:")


def test_bytes_are_read_in_the_encoding_they_are_in() -> None:
    assert loads_strict('{"name": "Zoë"}'.encode("utf-16")) == {"name": "Zoë"}
    assert "not Unicode" in refused(b'{"a": "\xff"}').message
