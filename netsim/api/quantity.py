"""Kubernetes resource quantities ("500m", "1.5Gi", "1e3"), parsed and printed as apimachinery does.

Contract (mirrors k8s.io/apimachinery `pkg/api/resource/quantity.go`):

- `parse_quantity(text)` follows `ParseQuantity`: the same scanner (so "+", "." and
  "1.G" parse, "12xyz" does not), the same suffix table, decimal values rounded away
  from zero to nano precision, binary-SI values capped at 2^63-1, and binary values
  below one re-labelled decimal.
- A `Quantity` holds its exact value as a `Fraction`, never a float.  Equality,
  ordering and hashing use the value only (as `Quantity.Cmp`/`Equal` do), so
  `parse_quantity("1Ki") == parse_quantity("1024")`.
- `str(q)` is what `Quantity.String()` returns: the string as written when the
  parser judged it canonical and cached it (so "+1" and "0100" print unchanged, as
  the API server echoes them), otherwise `q.canonical()`: "1.5" → "1500m",
  "1024Mi" → "1Gi", "1.5Gi" → "1536Mi".
- `value()` and `milli_value()` round up away from zero, as `Value`/`MilliValue` do
  on the int64 path.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from netsim.api.errors import FieldError

#: The regular expression apimachinery names in its format error (`splitREString`).
SPLIT_RE = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"

#: `ErrFormatWrong`, `ErrNumeric`, `ErrSuffix`, worded as apimachinery words them.
ERR_FORMAT_WRONG = f"quantities must match the regular expression '{SPLIT_RE}'"
ERR_NUMERIC = "unable to parse numeric part of quantity"
ERR_SUFFIX = "unable to parse quantity's suffix"

# The int64 fast path caps a binary value here (`maxAllowed`).
_MAX_ALLOWED = Fraction(2**63 - 1)
# Parsed values keep nine decimal places (`Nano`), finer ones round away from zero.
_NANO = 10**9
# A netsim limit: apimachinery truncates a huge exponent to int32 silently; we refuse it.
_MAX_EXPONENT = 1000


class Format(enum.Enum):
    """How a quantity prints its suffix; the parser remembers the one it read."""

    DECIMAL_EXPONENT = "DecimalExponent"  # 12e6
    BINARY_SI = "BinarySI"  # 12Mi (12 * 2^20)
    DECIMAL_SI = "DecimalSI"  # 12M (12 * 10^6)


# Decimal SI suffixes and their base-10 exponents (`decSuffixes` in suffix.go).
_DECIMAL_SUFFIXES: dict[str, int] = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
# Binary SI suffixes and their base-2 exponents (`binSuffixes` in suffix.go).
_BINARY_SUFFIXES: dict[str, int] = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_BY_EXPONENT = {e: s for s, e in _DECIMAL_SUFFIXES.items()}
_BINARY_BY_EXPONENT = {0: "", **{e: s for s, e in _BINARY_SUFFIXES.items()}}
_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_DIGITS = frozenset("0123456789")


@dataclass(frozen=True, slots=True, eq=False)
class Quantity:
    """An exact resource quantity and the suffix format it prints with."""

    amount: Fraction
    format: Format = Format.DECIMAL_SI
    # The parsed string when apimachinery would cache it as already canonical.
    text: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Fraction):
            object.__setattr__(self, "amount", Fraction(self.amount))
        if not isinstance(self.format, Format):
            raise TypeError(f"format must be a Format, got {self.format!r}")
        if not _is_decimal(self.amount):
            raise ValueError(f"a quantity needs a finite decimal value, got {self.amount}")

    @classmethod
    def parse(cls, text: str | int | float) -> Quantity:
        """Parse a quantity string (`resource.ParseQuantity`); see `parse_quantity`."""
        return parse_quantity(text)

    # --- comparison (by value, as Quantity.Cmp) -------------------------------------
    def __eq__(self, other: object) -> bool:
        if isinstance(other, Quantity):
            return self.amount == other.amount
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.amount)

    def __lt__(self, other: Quantity) -> bool:
        return self.amount < other.amount

    def __le__(self, other: Quantity) -> bool:
        return self.amount <= other.amount

    def __gt__(self, other: Quantity) -> bool:
        return self.amount > other.amount

    def __ge__(self, other: Quantity) -> bool:
        return self.amount >= other.amount

    # --- arithmetic (as Quantity.Add / Sub / Neg) -------------------------------------
    def __add__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        fmt = other.format if self.amount == 0 else self.format
        return Quantity(self.amount + other.amount, fmt)

    def __sub__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        fmt = other.format if self.amount == 0 else self.format
        return Quantity(self.amount - other.amount, fmt)

    def __neg__(self) -> Quantity:
        return Quantity(-self.amount, self.format)

    def is_zero(self) -> bool:
        """Whether the value is zero (`IsZero`)."""
        return self.amount == 0

    def sign(self) -> int:
        """-1, 0 or 1 (`Sign`)."""
        return (self.amount > 0) - (self.amount < 0)

    # --- int accessors -----------------------------------------------------------------
    def value(self) -> int:
        """The value rounded up away from zero to an integer (`Value`)."""
        return _round_away(self.amount)

    def milli_value(self) -> int:
        """The value in thousandths, rounded up away from zero (`MilliValue`)."""
        return _round_away(self.amount * 1000)

    def scaled_value(self, scale: int) -> int:
        """The value in units of 10^scale, rounded up away from zero (`ScaledValue`)."""
        return _round_away(self.amount / Fraction(10) ** scale)

    # --- printing ----------------------------------------------------------------------
    def __str__(self) -> str:
        return self.text if self.text is not None else self.canonical()

    def canonical(self) -> str:
        """The canonical form (`CanonicalizeBytes`), ignoring any cached parsed string."""
        if self.amount == 0:
            return "0"
        fmt = self.format
        if fmt is Format.BINARY_SI:
            if -1024 < self.amount < 1024:
                fmt = Format.DECIMAL_SI  # avoids rounding and confusion, as apimachinery says
            elif self.amount.denominator != 1:
                fmt = Format.DECIMAL_SI  # don't lose precision
        if fmt is Format.BINARY_SI:
            number, power = _base1024(self.amount.numerator)
            return f"{number}{_BINARY_BY_EXPONENT[power * 10]}"
        number, exponent = _canonical_decimal(self.amount)
        if fmt is Format.DECIMAL_SI and exponent in _DECIMAL_BY_EXPONENT:
            return f"{number}{_DECIMAL_BY_EXPONENT[exponent]}"
        # DecimalExponent, or a DecimalSI exponent past "E" (apimachinery falls back the same way).
        return f"{number}e{exponent}" if exponent else str(number)

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"


def parse_quantity(text: str | int | float) -> Quantity:
    """Parse a quantity as `resource.ParseQuantity` does; ints and floats as their JSON text.

    Memoized: Quantity is immutable and the controllers parse the same requests on every pass.
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise FieldError(f"quantities must be strings or numbers, got {type(text).__name__}")
    return _parse_quantity(text)


@functools.lru_cache(maxsize=4096, typed=True)
def _parse_quantity(text: str | int | float) -> Quantity:
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise FieldError(f"quantities must be strings or numbers, got {type(text).__name__}")
    if isinstance(text, int):
        text = str(text)
    elif isinstance(text, float):
        text = _json_number(text)
    if not text:
        raise FieldError(f'{ERR_FORMAT_WRONG}, got ""')
    if text == "0":
        return Quantity(Fraction(0), Format.DECIMAL_SI, "0")
    positive, num, denom, suffix = _scan(text)
    base, exponent, fmt = _interpret_suffix(suffix, text)

    digits = int(num + denom) if (num + denom) else 0
    amount = Fraction(digits, 10 ** len(denom))
    if base == 10:
        amount *= Fraction(10) ** exponent
    else:
        amount *= 2**exponent
    if not positive:
        amount = -amount

    cached = _cached_text(text, num, denom, exponent, fmt)
    magnitude = abs(amount)
    if magnitude and (magnitude * _NANO).denominator != 1:
        # Round non-zero values up (away from zero) to the nearest nano, as ParseQuantity does.
        magnitude = Fraction(-((-magnitude.numerator * _NANO) // magnitude.denominator), _NANO)
    if fmt is Format.BINARY_SI and magnitude > _MAX_ALLOWED:
        magnitude = _MAX_ALLOWED
    if fmt is Format.BINARY_SI and 0 < magnitude < 1:
        fmt = Format.DECIMAL_SI
    amount = magnitude if positive else -magnitude
    return Quantity(amount, fmt, cached)


def _scan(text: str) -> tuple[bool, str, str, str]:
    """Split `text` into sign, integer digits, fraction digits and suffix (`parseQuantityString`)."""
    pos, end = 0, len(text)
    positive = True
    if text[0] in "+-":
        positive = text[0] == "+"
        pos = 1
    while pos < end and text[pos] == "0":  # leading zeros
        pos += 1
    if pos >= end:
        return positive, "0", "", ""
    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    num = text[start:pos] or "0"
    denom = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        denom = text[start:pos]  # "1.G" is allowed, as apimachinery allows it (a TODO there)
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise FieldError(f'{ERR_FORMAT_WRONG}, got "{text}"')
    return positive, num, denom, text[suffix_start:]


def _interpret_suffix(suffix: str, text: str) -> tuple[int, int, Format]:
    """The base, exponent and format a suffix means (`suffixHandler.interpret`)."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], Format.DECIMAL_SI
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], Format.BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        rest = suffix[1:]
        body = rest[1:] if rest[0] in "+-" else rest
        if body and all(c in _DIGITS for c in body):
            exponent = int(rest)
            if abs(exponent) > _MAX_EXPONENT:
                raise FieldError(f'{ERR_SUFFIX}: exponent beyond ±{_MAX_EXPONENT}, got "{text}"')
            return 10, exponent, Format.DECIMAL_EXPONENT
    raise FieldError(f'{ERR_SUFFIX}, got "{text}"')


def _cached_text(text: str, num: str, denom: str, exponent: int, fmt: Format) -> str | None:
    """The string ParseQuantity keeps for String() when it takes the int64 fast path canonically."""
    if fmt is Format.BINARY_SI:
        if denom or exponent < 0 or 15 - len(num) - int(exponent * 3 / 10) - 1 < 0:
            return None
        value = int(num)
        if value * 2**exponent > 2**63 - 1:
            return None
        return text if exponent % 10 == 0 and value & 0x07 != 0 else None
    if 18 - (len(num) + len(denom)) < 0:  # maxInt64Factors: beyond it the slow path runs
        return None
    scale = exponent - len(denom)
    if scale < -9:
        return None
    shifted = num + denom
    if scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0":
        return text
    return None


def _is_decimal(value: Fraction) -> bool:
    """Whether `value` has a finite decimal expansion (denominator of only 2s and 5s)."""
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def _canonical_decimal(value: Fraction) -> tuple[int, int]:
    """(mantissa, exponent) with exponent a multiple of 3 and as large as possible (`AsCanonicalBytes`)."""
    exponent = 0
    mantissa = value
    while mantissa.denominator != 1:
        mantissa *= 10
        exponent -= 1
    number = mantissa.numerator
    while number % 10 == 0:
        number //= 10
        exponent += 1
    shift = exponent % 3  # Python's modulo floors, so the exponent steps down to a multiple of 3
    return number * 10**shift, exponent - shift


def _base1024(number: int) -> tuple[int, int]:
    """(mantissa, power) with number = mantissa * 1024**power, power at most 6 ("Ei")."""
    power = 0
    while number % 1024 == 0 and power < 6:
        number //= 1024
        power += 1
    return number, power


def _round_away(value: Fraction) -> int:
    """Round to an integer away from zero (inf.RoundUp, and the int64 path of ScaledValue)."""
    if value >= 0:
        return -((-value.numerator) // value.denominator)
    return value.numerator // value.denominator


def _json_number(value: float) -> str:
    """A float as JSON writes it, the text the API server would parse."""
    if value != value or value in (float("inf"), float("-inf")):
        raise FieldError(f"quantities must be finite numbers, got {value}")
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    shortest = Decimal(repr(value))
    if Decimal("1e-6") <= abs(shortest) < Decimal("1e21"):
        return format(shortest, "f")
    # Go's 'e' format: "1e+21", and "1e-07" cleaned to "1e-7" (encoding/json floatEncoder).
    mantissa, _, exponent = repr(value).partition("e")
    power = int(exponent)
    return f"{mantissa}e+{power:02d}" if power >= 0 else f"{mantissa}e-{-power}"
