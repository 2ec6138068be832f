"""Resource quantities: parsing, canonical printing and rounding as apimachinery's resource.Quantity."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.api.errors import FieldError
from netsim.api.quantity import ERR_FORMAT_WRONG, ERR_SUFFIX, Format, Quantity, parse_quantity

# (input, exact value, format, String() output) — String() keeps a string apimachinery
# caches as canonical ("+1", "0100", "1E3"), else prints the canonical form.
CASES = [
    ("0", 0, Format.DECIMAL_SI, "0"),
    ("1", 1, Format.DECIMAL_SI, "1"),
    ("1500m", Fraction(3, 2), Format.DECIMAL_SI, "1500m"),
    ("1.5", Fraction(3, 2), Format.DECIMAL_SI, "1500m"),
    ("0.5", Fraction(1, 2), Format.DECIMAL_SI, "500m"),
    (".5", Fraction(1, 2), Format.DECIMAL_SI, "500m"),
    ("100m", Fraction(1, 10), Format.DECIMAL_SI, "100m"),
    ("1000", 1000, Format.DECIMAL_SI, "1k"),
    ("1000m", 1, Format.DECIMAL_SI, "1"),
    ("1k", 1000, Format.DECIMAL_SI, "1k"),
    ("1.5k", 1500, Format.DECIMAL_SI, "1500"),
    ("2M", 2_000_000, Format.DECIMAL_SI, "2M"),
    ("1G", 10**9, Format.DECIMAL_SI, "1G"),
    ("1T", 10**12, Format.DECIMAL_SI, "1T"),
    ("1P", 10**15, Format.DECIMAL_SI, "1P"),
    ("1E", 10**18, Format.DECIMAL_SI, "1E"),
    ("1000E", 10**21, Format.DECIMAL_SI, "1e21"),  # past "E" falls back to an exponent
    ("5n", Fraction(5, 10**9), Format.DECIMAL_SI, "5n"),
    ("5u", Fraction(5, 10**6), Format.DECIMAL_SI, "5u"),
    ("1.2345", Fraction(12345, 10**4), Format.DECIMAL_SI, "1234500u"),
    ("0.9n", Fraction(1, 10**9), Format.DECIMAL_SI, "1n"),  # rounded up to nano
    ("1.0000000001", Fraction(1_000_000_001, 10**9), Format.DECIMAL_SI, "1000000001n"),
    ("-1.5", Fraction(-3, 2), Format.DECIMAL_SI, "-1500m"),
    ("-0.0000000001", Fraction(-1, 10**9), Format.DECIMAL_SI, "-1n"),  # away from zero
    ("+1", 1, Format.DECIMAL_SI, "+1"),
    ("0100", 100, Format.DECIMAL_SI, "0100"),
    ("1.", 1, Format.DECIMAL_SI, "1."),
    ("1.G", 10**9, Format.DECIMAL_SI, "1.G"),
    (".", 0, Format.DECIMAL_SI, "0"),
    ("+", 0, Format.DECIMAL_SI, "0"),
    ("-", 0, Format.DECIMAL_SI, "0"),
    ("-0", 0, Format.DECIMAL_SI, "0"),
    ("18446744073709551616", 2**64, Format.DECIMAL_SI, "18446744073709551616"),
    ("1Ki", 1024, Format.BINARY_SI, "1Ki"),
    ("8Ki", 8192, Format.BINARY_SI, "8Ki"),
    ("1024Mi", 2**30, Format.BINARY_SI, "1Gi"),
    ("100Mi", 100 * 2**20, Format.BINARY_SI, "100Mi"),
    ("1.5Gi", 3 * 2**29, Format.BINARY_SI, "1536Mi"),
    ("0.5Gi", 2**29, Format.BINARY_SI, "512Mi"),
    ("0.5Ki", 512, Format.BINARY_SI, "512"),  # below 1024 prints as decimal
    ("0.1Ki", Fraction(512, 5), Format.BINARY_SI, "102400m"),
    ("1.1Ki", Fraction(5632, 5), Format.BINARY_SI, "1126400m"),  # inexact: decimal
    ("0.1Gi", Fraction(536870912, 5), Format.BINARY_SI, "107374182400m"),
    ("1Ei", 2**60, Format.BINARY_SI, "1Ei"),
    ("8Ei", 2**63 - 1, Format.BINARY_SI, "9223372036854775807"),  # capped
    ("-2Ki", -2048, Format.BINARY_SI, "-2Ki"),
    ("1e3", 1000, Format.DECIMAL_EXPONENT, "1e3"),
    ("1E3", 1000, Format.DECIMAL_EXPONENT, "1E3"),
    ("1e+3", 1000, Format.DECIMAL_EXPONENT, "1e+3"),  # cached as written
    ("10e3", 10000, Format.DECIMAL_EXPONENT, "10e3"),
    ("1e4", 10000, Format.DECIMAL_EXPONENT, "10e3"),
    ("5e-3", Fraction(5, 1000), Format.DECIMAL_EXPONENT, "5e-3"),
    ("1e-12", Fraction(1, 10**9), Format.DECIMAL_EXPONENT, "1e-9"),
    ("1.5e3", 1500, Format.DECIMAL_EXPONENT, "1500"),
]


@pytest.mark.parametrize(("text", "value", "fmt", "printed"), CASES, ids=[c[0] for c in CASES])
def test_parse_value_format_and_string(text: str, value: Fraction, fmt: Format, printed: str) -> None:
    q = parse_quantity(text)
    assert q.amount == value
    assert q.format is (Format.DECIMAL_SI if fmt is Format.BINARY_SI and 0 < abs(value) < 1 else fmt)
    assert str(q) == printed


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("+1", "1"), ("0100", "100"), ("1E3", "1e3"), ("1.", "1"), ("1.G", "1G"), ("1500m", "1500m")],
)
def test_canonical_ignores_the_cached_string(text: str, canonical: str) -> None:
    assert parse_quantity(text).canonical() == canonical


def test_binary_below_one_is_relabelled_decimal() -> None:
    q = parse_quantity("0.0000001Ki")
    assert q.format is Format.DECIMAL_SI


@pytest.mark.parametrize(
    ("text", "value", "milli"),
    [
        ("1", 1, 1000),
        ("1500m", 2, 1500),
        ("100m", 1, 100),
        ("0.1m", 1, 1),  # MilliValue rounds up
        ("1n", 1, 1),
        ("1.2345", 2, 1235),
        ("1Gi", 2**30, 2**30 * 1000),
        ("-1.5", -2, -1500),  # away from zero
        ("0", 0, 0),
    ],
)
def test_value_and_milli_value_round_up(text: str, value: int, milli: int) -> None:
    q = parse_quantity(text)
    assert q.value() == value
    assert q.milli_value() == milli


def test_scaled_value() -> None:
    assert parse_quantity("1").scaled_value(-3) == 1000
    assert parse_quantity("1500").scaled_value(3) == 2


@pytest.mark.parametrize(
    ("value", "printed"), [(12, "12"), (0, "0"), (0.5, "500m"), (1e-5, "10u"), (2.0, "2"), (1e21, "1e+21"), (1.5e-7, "150e-9")]
)
def test_numbers_parse_as_their_json_text(value: float, printed: str) -> None:
    assert str(parse_quantity(value)) == printed


@pytest.mark.parametrize("text", ["12xyz", "", "1.5.5", "abc", "1 Gi", "1Gb", "1e3.5", " 1"])
def test_format_errors_quote_the_api_server_message(text: str) -> None:
    with pytest.raises(FieldError) as err:
        parse_quantity(text)
    assert err.value.problem == f'{ERR_FORMAT_WRONG}, got "{text}"'
    assert err.value.field == ""


def test_format_error_text() -> None:
    with pytest.raises(FieldError, match=r"quantities must match the regular expression") as err:
        parse_quantity("12xyz")
    assert str(err.value) == (
        "quantities must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$', got \"12xyz\""
    )


@pytest.mark.parametrize("text", ["1GG", "1i", "1e", "1e+", "--1", "1Ki5", "1m5", "1Kii"])
def test_suffix_errors(text: str) -> None:
    with pytest.raises(FieldError) as err:
        parse_quantity(text)
    assert err.value.problem.startswith(ERR_SUFFIX)


@pytest.mark.parametrize("value", [True, None, [1], {"a": 1}])
def test_non_scalar_input_is_refused(value: object) -> None:
    with pytest.raises(FieldError):
        parse_quantity(value)  # type: ignore[arg-type]


def test_quantity_parse_classmethod() -> None:
    assert Quantity.parse("1Gi") == parse_quantity("1024Mi")


def test_comparison_is_by_value() -> None:
    assert parse_quantity("1Ki") == parse_quantity("1024")
    assert hash(parse_quantity("1Ki")) == hash(parse_quantity("1024"))
    assert parse_quantity("500m") < parse_quantity("1")
    assert parse_quantity("1G") < parse_quantity("1Gi")
    assert parse_quantity("1") <= parse_quantity("1000m") <= parse_quantity("1")
    assert sorted(parse_quantity(t) for t in ["1Gi", "1", "500m"]) == [
        parse_quantity("500m"),
        parse_quantity("1"),
        parse_quantity("1Gi"),
    ]
    assert parse_quantity("1") != "1"


def test_addition_keeps_the_receivers_format_unless_it_is_zero() -> None:
    assert str(parse_quantity("1Ki") + parse_quantity("1Ki")) == "2Ki"
    assert str(parse_quantity("100m") + parse_quantity("900m")) == "1"
    assert str(parse_quantity("0") + parse_quantity("1Ki")) == "1Ki"
    assert str(parse_quantity("1") + parse_quantity("1Ki")) == "1025"
    assert str(parse_quantity("1Gi") - parse_quantity("512Mi")) == "512Mi"
    assert str(-parse_quantity("1500m")) == "-1500m"
    assert str(parse_quantity("+1") + parse_quantity("0")) == "1"  # arithmetic drops the cached string


def test_quantity_is_frozen_and_exact() -> None:
    q = parse_quantity("1.5")
    with pytest.raises(AttributeError):
        q.amount = Fraction(2)  # type: ignore[misc]
    with pytest.raises(ValueError):
        Quantity(Fraction(1, 3))


_SUFFIXES = ["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "e3", "E-2", "e0"]


@st.composite
def quantity_strings(draw: st.DrawFn) -> str:
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = draw(st.text("0123456789", min_size=0, max_size=12))
    frac = draw(st.text("0123456789", min_size=0, max_size=12))
    dot = draw(st.booleans())
    number = whole + ("." + frac if dot else "")
    if not any(c.isdigit() for c in number):
        number = "1"
    return sign + number + draw(st.sampled_from(_SUFFIXES))


@given(quantity_strings())
def test_round_trip_parse_of_string_is_identity(text: str) -> None:
    q = parse_quantity(text)
    again = parse_quantity(str(q))
    assert again == q
    assert parse_quantity(q.canonical()) == q
    # the canonical form is a fixed point
    assert parse_quantity(q.canonical()).canonical() == q.canonical()


@given(st.integers(min_value=-(10**20), max_value=10**20), st.integers(min_value=-9, max_value=20))
def test_round_trip_of_decimal_values(mantissa: int, exponent: int) -> None:
    q = Quantity(Fraction(mantissa) * Fraction(10) ** exponent)
    assert parse_quantity(str(q)) == q
    assert parse_quantity(str(q)).amount == q.amount


@given(st.integers(min_value=0, max_value=2**62))
def test_round_trip_of_binary_values(value: int) -> None:
    q = Quantity(Fraction(value), Format.BINARY_SI)
    assert parse_quantity(str(q)) == q
