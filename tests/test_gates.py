"""Stage gates at their boundaries: every operator at, just above and just below its
threshold, missing keys, values of the wrong type, dotted paths, and each parse error
with its message. A gate decides whether a model ships, so each verdict is pinned with
its detail, not only passed or failed."""

from __future__ import annotations

import pytest

from registry_tool._model.gates import (
    Condition,
    GateResult,
    check_condition,
    check_gates,
    parse_condition,
)
from registry_tool.errors import UsageError

# (operator, verdict just below, at, just above the threshold)
VERDICTS = [
    (">=", False, True, True),
    (">", False, False, True),
    ("<=", True, True, False),
    ("<", True, False, False),
    ("==", False, True, False),
    ("!=", True, False, True),
]
# (threshold as written, just below, at, just above)
THRESHOLDS = [
    ("5", 4, 5, 6),
    ("0.9", 0.8999999, 0.9, 0.9000001),
    ("-1", -2, -1, 0),
    ("0", -0.0000001, 0, 0.0000001),
]


def verdict(text: str, metadata: dict[str, object]) -> GateResult:
    return check_condition(text, metadata)


@pytest.mark.parametrize(("op", "below", "at", "above"), VERDICTS)
@pytest.mark.parametrize(("written", "low", "equal", "high"), THRESHOLDS)
def test_every_operator_at_and_around_its_threshold(
    op, below, at, above, written, low, equal, high
):
    text = f"score {op} {written}"
    threshold = parse_condition(text).value
    for actual, expected in ((low, below), (equal, at), (high, above)):
        result = verdict(text, {"score": actual})
        detail = (
            f"score is {actual!r}" if expected else f"score is {actual!r}, needs {op} {threshold!r}"
        )
        assert result == GateResult(text, expected, actual, detail), (text, actual)


@pytest.mark.parametrize(
    ("text", "actual", "passed"),
    [
        ("x >= 0.5", 1, True),  # an int metadata value against a float threshold
        ("x < 0.5", 1, False),
        ("x >= 2", 1.5, False),  # a float value against an int threshold
        ("x > 1", 1.5, True),
        ("x == 1", 1.0, True),  # one number, however written
        ("x != 1.0", 1, False),
        ("x == 1e3", 1000, True),
        ("x > -0.5", -0.25, True),
    ],
)
def test_ints_and_floats_compare_as_numbers(text, actual, passed):
    assert verdict(text, {"x": actual}).passed is passed


def test_the_threshold_keeps_its_type():
    assert parse_condition("f1 >= 5") == Condition(("f1",), ">=", 5, "f1 >= 5")
    assert type(parse_condition("f1 >= 5").value) is int
    assert type(parse_condition("f1 >= 5.0").value) is float
    assert parse_condition("f1 >= -0.25").value == -0.25


# -- missing keys ----------------------------------------------------------------------


@pytest.mark.parametrize("op", [v[0] for v in VERDICTS])
def test_a_missing_key_fails_every_operator(op):
    text = f"f1 {op} 0.9"
    assert verdict(text, {}) == GateResult(text, False, None, "f1 is not in the metadata")
    assert verdict(text, {"F1": 0.95, "f": 1}) == GateResult(
        text, False, None, "f1 is not in the metadata"
    )


def test_a_missing_key_is_not_a_null_value():
    assert verdict("x == null", {}).passed is False
    assert verdict("x != null", {}).passed is False
    assert verdict("x == null", {"x": None}) == GateResult("x == null", True, None, "x is None")
    assert verdict("x != null", {"x": None}) == GateResult(
        "x != null", False, None, "x is None, needs != None"
    )


# -- dotted paths ----------------------------------------------------------------------


def test_a_dotted_path_reads_nested_mappings():
    metrics = {"metrics": {"f1": 0.93, "loss": {"val": 0.2}}}
    assert verdict("metrics.f1 >= 0.9", metrics) == GateResult(
        "metrics.f1 >= 0.9", True, 0.93, "metrics.f1 is 0.93"
    )
    assert verdict("metrics.loss.val < 0.25", metrics).passed is True
    assert verdict("metrics.loss.val < 0.2", metrics) == GateResult(
        "metrics.loss.val < 0.2", False, 0.2, "metrics.loss.val is 0.2, needs < 0.2"
    )
    assert parse_condition("metrics.loss.val < 1").path == ("metrics", "loss", "val")


@pytest.mark.parametrize(
    "metadata",
    [
        {"f1": 0.95},  # the last part alone is not the path
        {"metrics.f1": 0.95},  # nor is a key spelled with the dot
        {"metrics": {}},
        {"metrics": {"F1": 0.95}},
        {"metrics": 0.95},  # a value where a mapping should be
        {"metrics": [0.95]},
        {"metrics": "f1"},
        {"metrics": None},
    ],
)
def test_a_dotted_path_reads_nothing_else(metadata):
    assert verdict("metrics.f1 >= 0.9", metadata) == GateResult(
        "metrics.f1 >= 0.9", False, None, "metrics.f1 is not in the metadata"
    )


def test_a_leading_metadata_prefix_is_dropped_once():
    assert parse_condition("metadata.f1 >= 0.9").path == ("f1",)
    assert verdict("metadata.f1 >= 0.9", {"f1": 0.95}) == GateResult(
        "metadata.f1 >= 0.9", True, 0.95, "f1 is 0.95"
    )
    assert verdict("metadata.f1 >= 0.9", {"metadata": {"f1": 0.95}}).passed is False
    assert parse_condition("metadata.metadata.x == 1").path == ("metadata", "x")
    assert verdict("metadata.metadata.x == 1", {"metadata": {"x": 1}}).passed is True
    # A key named metadata, alone, is that key.
    assert parse_condition("metadata == 1").path == ("metadata",)
    assert verdict("metadata == 1", {"metadata": 1}) == GateResult(
        "metadata == 1", True, 1, "metadata is 1"
    )
    # Only a leading "metadata." is the prefix.
    assert parse_condition("meta.f1 >= 1").path == ("meta", "f1")
    assert parse_condition("x.metadata.f1 >= 1").path == ("x", "metadata", "f1")


# -- values of another type ------------------------------------------------------------


@pytest.mark.parametrize("op", [">=", ">", "<=", "<"])
@pytest.mark.parametrize(
    ("value", "threshold"),
    [
        ("0.95", "0.9"),  # a string that looks like a number is a string
        (True, "1"),  # a boolean is not a number here
        (False, "0"),
        (1, "true"),
        (0.5, "'0.5'"),
        (None, "0"),
        (3, "null"),
        ({"f1": 1}, "0"),
        ([1], "0"),
    ],
)
def test_ordering_across_types_fails_with_the_reason(op, value, threshold):
    text = f"x {op} {threshold}"
    wanted = parse_condition(text).value
    assert verdict(text, {"x": value}) == GateResult(
        text, False, value, f"x is {value!r}, which cannot be compared with {wanted!r}"
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("x == 0.95", "0.95"),
        ("x == '0.95'", 0.95),
        ("x == 'true'", True),
        ("x == true", "true"),
        ("x == null", 0),
        ("x == null", ""),
        ("x == 0", None),
        ("x == 0", [0]),
    ],
)
def test_equality_across_types_is_false_and_inequality_true(text, value):
    wanted = parse_condition(text).value
    assert verdict(text, {"x": value}) == GateResult(
        text, False, value, f"x is {value!r}, needs == {wanted!r}"
    )
    negated = text.replace("==", "!=")
    assert verdict(negated, {"x": value}) == GateResult(negated, True, value, f"x is {value!r}")


@pytest.mark.parametrize(
    ("text", "value"),
    [("x == 1", True), ("x == 0", False), ("x == true", 1), ("x == false", 0.0)],
)
def test_a_boolean_never_equals_a_number(text, value):
    assert verdict(text, {"x": value}).passed is False
    assert verdict(text.replace("==", "!="), {"x": value}).passed is True


def test_ordering_two_nulls_fails_with_the_reason():
    assert verdict("x >= null", {"x": None}) == GateResult(
        "x >= null", False, None, "x is None, which cannot be compared with None"
    )


@pytest.mark.parametrize(
    ("text", "value", "passed"),
    [
        ("ok == true", True, True),
        ("ok == true", False, False),
        ("ok != false", True, True),
        ("ok != false", False, False),
        ("stage == 'prod'", "prod", True),
        ("stage == 'prod'", "Prod", False),
        ("stage != 'prod'", "dev", True),
        ("stage >= 'b'", "c", True),  # strings order as strings
        ("stage >= 'b'", "b", True),
        ("stage > 'b'", "b", False),
        ("stage < 'b'", "a", True),
        ("stage < 'b'", "ba", False),
    ],
)
def test_booleans_and_strings_compare_with_their_own_kind(text, value, passed):
    result = verdict(text, {"ok": value, "stage": value})
    assert result.passed is passed and result.actual == value


# -- parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("name == 'bert'", "bert"),
        ('name == "bert"', "bert"),
        ("name == 'two words'", "two words"),
        ('name == "it\'s"', "it's"),  # an apostrophe inside double quotes
        ("name == ''", ""),
        ("ok == true", True),
        ("ok == false", False),
        ("x == null", None),
    ],
)
def test_quoted_strings_with_either_quote_and_literals(text, value):
    parsed = parse_condition(text)
    assert parsed.value == value and type(parsed.value) is type(value)
    assert verdict(text, {"name": value, "ok": value, "x": value}).passed is True


@pytest.mark.parametrize(
    ("text", "path", "op", "value"),
    [
        ("f1>=0.9", ("f1",), ">=", 0.9),
        ("  f1   <=   0.9  ", ("f1",), "<=", 0.9),
        ("val-loss < 1", ("val-loss",), "<", 1),
        ("_private != 2", ("_private",), "!=", 2),
        ("a.b_c.D9 > 3", ("a", "b_c", "D9"), ">", 3),
        ("x == 'a b'", ("x",), "==", "a b"),
    ],
)
def test_the_parts_of_a_condition(text, path, op, value):
    assert parse_condition(text) == Condition(path, op, value, text.strip())


def test_the_result_names_the_condition_as_written_without_outer_blanks():
    result = verdict("  f1 >= 0.9 ", {"f1": 1})
    assert result == GateResult("f1 >= 0.9", True, 1, "f1 is 1")


SHAPE = (
    "gate {!r}: expected '<metadata key> <op> <value>' with op one of >= > <= < == != "
    "(e.g. 'metrics.f1 >= 0.9')"
)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "f1",
        "f1 = 0.9",
        "f1 => 0.9",
        "f1 ~ 0.9",
        ">= 0.9",
        "1f >= 0.9",
        ".f1 >= 0.9",
        "f1 score >= 0.9",
        "f1\n>= 0.9\n>= 1",
    ],
)
def test_a_condition_of_the_wrong_shape_is_refused(text):
    with pytest.raises(UsageError) as caught:
        parse_condition(text)
    assert str(caught.value) == SHAPE.format(text)


@pytest.mark.parametrize("text", [None, 0.9, ["f1 >= 0.9"]])
def test_a_condition_that_is_not_text_is_refused(text):
    with pytest.raises(UsageError) as caught:
        parse_condition(text)  # type: ignore[arg-type]
    assert str(caught.value) == SHAPE.format(text)


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("f1 >= high", "high"),
        ("f1 >= ", " "),  # the blank after the operator is all there is
        ("f1 >= 0.9 or so", "0.9 or so"),
        ("f1 >= 0x10", "0x10"),
        ("f1 >= True", "True"),
        ("name == bert", "bert"),
        ("name == 'it's'", "'it's'"),
        ("name == 'unclosed", "'unclosed"),
        ('name == "unclosed', '"unclosed'),
    ],
)
def test_a_value_that_is_not_a_literal_is_refused(text, raw):
    with pytest.raises(UsageError) as caught:
        parse_condition(text)
    assert str(caught.value) == (
        f"gate {text!r}: {raw!r} is not a number, true/false/null or a quoted string"
    )
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize("text", ["x == [1]", "x == []", "x == {}", 'x == {"a": 1}'])
def test_a_list_or_mapping_value_is_refused(text):
    with pytest.raises(UsageError) as caught:
        parse_condition(text)
    assert str(caught.value) == f"gate {text!r}: compare with a number, boolean or string"


def test_check_condition_refuses_what_parse_refuses():
    with pytest.raises(UsageError, match="expected '<metadata key> <op> <value>'"):
        check_condition("f1", {"f1": 1})


# -- several conditions ------------------------------------------------------------------


def test_check_gates_judges_each_condition_in_order():
    metadata = {"f1": 0.93, "loss": 0.4, "name": "bert"}
    results = check_gates(["f1 >= 0.9", "loss < 0.3", "name == 'bert'"], metadata)
    assert results == [
        GateResult("f1 >= 0.9", True, 0.93, "f1 is 0.93"),
        GateResult("loss < 0.3", False, 0.4, "loss is 0.4, needs < 0.3"),
        GateResult("name == 'bert'", True, "bert", "name is 'bert'"),
    ]
    assert check_gates([], metadata) == []
