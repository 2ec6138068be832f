"""Label selectors: metav1.LabelSelector, kubectl's `-l` string form, and Service selectors.

Contract (mirrors k8s.io/apimachinery `pkg/labels/selector.go`,
`pkg/apis/meta/v1/helpers.go` LabelSelectorAsSelector and
`pkg/apis/meta/v1/validation` ValidateLabelSelector):

- `LabelSelector.from_dict(d)` validates the dict form and returns a frozen selector
  whose requirements are sorted by key, as the internal selector keeps them.
  `from_dict(None)` is `NOTHING` (matches no labels); `from_dict({})` is
  `EVERYTHING` (matches all labels).
- `str(selector)` is `Selector.String()`: `app=web,tier in (a,b),!x`, set values sorted.
- `parse_selector_string(text)` is `labels.Parse` (`kubectl get -l`): `=`, `==`,
  `!=`, `in`, `notin`, `key`, `!key`, `>` and `<`.
- Problems raise `FieldError` with the sub-field path (`matchExpressions[0].operator`)
  and a problem worded as the API server words it (`Invalid value: "Foo": ...`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netsim.api.errors import FieldError

# --- apimachinery util/validation: names and values -----------------------------------

_QNAME_CHAR = "[A-Za-z0-9]"
_QNAME_EXT_CHAR = "[-A-Za-z0-9_.]"
QUALIFIED_NAME_FMT = f"({_QNAME_CHAR}{_QNAME_EXT_CHAR}*)?{_QNAME_CHAR}"
QUALIFIED_NAME_MAX_LENGTH = 63
_QUALIFIED_NAME_ERR = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
LABEL_VALUE_FMT = f"({QUALIFIED_NAME_FMT})?"
LABEL_VALUE_MAX_LENGTH = 63
_LABEL_VALUE_ERR = (
    "a valid label must be an empty string or consist of alphanumeric characters, "
    "'-', '_' or '.', and must start and end with an alphanumeric character"
)
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = f"{_DNS1123_LABEL_FMT}(\\.{_DNS1123_LABEL_FMT})*"
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
_DNS1123_SUBDOMAIN_ERR = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
_QUALIFIED_NAME_RE = re.compile(f"^{QUALIFIED_NAME_FMT}$")
_LABEL_VALUE_RE = re.compile(f"^{LABEL_VALUE_FMT}$")
_DNS1123_SUBDOMAIN_RE = re.compile(f"^{DNS1123_SUBDOMAIN_FMT}$")


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    """apimachinery's RegexError wording, double space before "or" included."""
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    listed = " or ".join(f"'{e}', " for e in examples)
    return f"{message} (e.g. {listed}regex used for validation is '{fmt}')"


def _max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def dns1123_subdomain_errors(value: str) -> list[str]:
    """Why `value` is not a DNS-1123 subdomain (`IsDNS1123Subdomain`); empty when it is."""
    errors = []
    if len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errors.append(_max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _DNS1123_SUBDOMAIN_RE.match(value):
        errors.append(_regex_error(_DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


def qualified_name_errors(value: str) -> list[str]:
    """Why `value` is not a qualified name, e.g. a label key (`IsQualifiedName`); empty when it is."""
    errors: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors.extend(f"prefix part {m}" for m in dns1123_subdomain_errors(prefix))
    else:
        return [
            "a qualified name "
            + _regex_error(_QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > QUALIFIED_NAME_MAX_LENGTH:
        errors.append("name part " + _max_len_error(QUALIFIED_NAME_MAX_LENGTH))
    if not _QUALIFIED_NAME_RE.match(name):
        errors.append(
            "name part " + _regex_error(_QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errors


def label_value_errors(value: str) -> list[str]:
    """Why `value` is not a label value (`IsValidLabelValue`); empty when it is."""
    errors = []
    if len(value) > LABEL_VALUE_MAX_LENGTH:
        errors.append(_max_len_error(LABEL_VALUE_MAX_LENGTH))
    if not _LABEL_VALUE_RE.match(value):
        errors.append(_regex_error(_LABEL_VALUE_ERR, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


def _invalid(value: Any, message: str) -> str:
    """field.Invalid's wording: `Invalid value: "x": message`."""
    shown = f'"{value}"' if isinstance(value, str) else repr(value)
    return f"Invalid value: {shown}: {message}"


def validate_label_key(key: Any) -> None:
    """Raise FieldError unless `key` is a valid label key (a qualified name)."""
    if not isinstance(key, str):
        raise FieldError(f"label keys must be strings, got {type(key).__name__}")
    errors = qualified_name_errors(key)
    if errors:
        raise FieldError(_invalid(key, "; ".join(errors)))


def validate_label_value(value: Any) -> None:
    """Raise FieldError unless `value` is a valid label value (≤63 chars of [A-Za-z0-9._-])."""
    if not isinstance(value, str):
        raise FieldError(f"label values must be strings, got {type(value).__name__}")
    errors = label_value_errors(value)
    if errors:
        raise FieldError(_invalid(value, "; ".join(errors)))


# --- requirements and selectors ------------------------------------------------------


class Operator(enum.Enum):
    """A requirement's operator; the value is `selection.Operator`'s string."""

    IN = "in"  # key present, value in the set
    NOT_IN = "notin"  # key absent, or value not in the set
    EQUALS = "="  # key present with this one value
    DOUBLE_EQUALS = "=="  # same as EQUALS, spelled "=="
    NOT_EQUALS = "!="  # key absent, or a different value
    EXISTS = "exists"  # key present
    DOES_NOT_EXIST = "!"  # key absent
    GREATER_THAN = "gt"  # key present and its integer value greater
    LESS_THAN = "lt"  # key present and its integer value smaller


# metav1.LabelSelectorOperator → the internal operator (LabelSelectorAsSelector).
_EXPRESSION_OPERATORS = {
    "In": Operator.IN,
    "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS,
    "DoesNotExist": Operator.DOES_NOT_EXIST,
}
# How each operator sits between key and values in the string form (Requirement.String).
_INFIX = {
    Operator.EQUALS: "=",
    Operator.DOUBLE_EQUALS: "==",
    Operator.NOT_EQUALS: "!=",
    Operator.IN: " in ",
    Operator.NOT_IN: " notin ",
    Operator.GREATER_THAN: ">",
    Operator.LESS_THAN: "<",
}


def _is_int64(text: str) -> bool:
    """Whether Go's strconv.ParseInt(text, 10, 64) accepts `text`."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return False
    return -(2**63) <= int(text) < 2**63


@dataclass(frozen=True, slots=True)
class Requirement:
    """One `key op values` term of a selector; values keep their given order (printed sorted)."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))
        validate_label_key(self.key)
        op, n = self.operator, len(self.values)
        if op in (Operator.IN, Operator.NOT_IN) and n == 0:
            raise FieldError("for 'in', 'notin' operators, values set can't be empty", "values")
        if op in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS) and n != 1:
            raise FieldError("exact-match compatibility requires one single value", "values")
        if op in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and n != 0:
            raise FieldError("values set must be empty for exists and does not exist", "values")
        if op in (Operator.GREATER_THAN, Operator.LESS_THAN):
            if n != 1:
                raise FieldError("for 'Gt', 'Lt' operators, exactly one value is required", "values")
            if not _is_int64(self.values[0]):
                raise FieldError(
                    _invalid(self.values[0], "for 'Gt', 'Lt' operators, the value must be an integer"), "values[0]"
                )
        for i, value in enumerate(self.values):
            try:
                validate_label_value(value)
            except FieldError as err:
                raise err.under(f"values[{i}]") from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether `labels` satisfy this requirement (`Requirement.Matches`)."""
        op = self.operator
        present = self.key in labels
        if op in (Operator.IN, Operator.EQUALS, Operator.DOUBLE_EQUALS):
            return present and labels[self.key] in self.values
        if op in (Operator.NOT_IN, Operator.NOT_EQUALS):
            return not present or labels[self.key] not in self.values
        if op is Operator.EXISTS:
            return present
        if op is Operator.DOES_NOT_EXIST:
            return not present
        if not present or not _is_int64(labels[self.key]):
            return False
        have, want = int(labels[self.key]), int(self.values[0])
        return have > want if op is Operator.GREATER_THAN else have < want

    def __str__(self) -> str:
        if self.operator is Operator.DOES_NOT_EXIST:
            return f"!{self.key}"
        if self.operator is Operator.EXISTS:
            return self.key
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if self.operator in (Operator.IN, Operator.NOT_IN):
            values = f"({values})"
        return f"{self.key}{_INFIX[self.operator]}{values}"


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A label selector: the AND of its requirements; `selects_nothing` for the nil selector."""

    requirements: tuple[Requirement, ...] = ()
    selects_nothing: bool = False

    def __post_init__(self) -> None:
        reqs = tuple(self.requirements)
        if self.selects_nothing and reqs:
            raise ValueError("the nothing selector has no requirements")
        # Sorted by key as internalSelector.Add sorts (stable here, so ties keep their order).
        object.__setattr__(self, "requirements", tuple(sorted(reqs, key=lambda r: r.key)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> LabelSelector:
        """The selector a metav1.LabelSelector dict means (`LabelSelectorAsSelector`), validated."""
        if data is None:
            return NOTHING
        if not isinstance(data, Mapping):
            raise FieldError(f"must be an object, got {type(data).__name__}")
        for name in data:
            if name not in ("matchLabels", "matchExpressions"):
                raise FieldError(f'unknown field "{name}"')
        reqs = _match_labels(data.get("matchLabels")) + _match_expressions(data.get("matchExpressions"))
        return cls(reqs) if reqs else EVERYTHING

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether an object with `labels` is selected."""
        if self.selects_nothing:
            return False
        return all(r.matches(labels) for r in self.requirements)

    def is_empty(self) -> bool:
        """True for the selector that matches everything (`Selector.Empty`)."""
        return not self.selects_nothing and not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = LabelSelector()
NOTHING = LabelSelector(selects_nothing=True)


def _match_labels(value: Any) -> tuple[Requirement, ...]:
    """matchLabels as EQUALS requirements; errors under field "matchLabels" (ValidateLabels)."""
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise FieldError(f"must be a map of strings, got {type(value).__name__}", "matchLabels")
    reqs = []
    for key, item in value.items():
        try:
            validate_label_key(key)
            validate_label_value(item)
        except FieldError as err:
            raise err.under("matchLabels") from None
        reqs.append(Requirement(key, Operator.EQUALS, (item,)))
    return tuple(reqs)


def _match_expressions(value: Any) -> tuple[Requirement, ...]:
    """matchExpressions as requirements, each validated as ValidateLabelSelectorRequirement does."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FieldError(f"must be a list, got {type(value).__name__}", "matchExpressions")
    reqs = []
    for i, expr in enumerate(value):
        path = f"matchExpressions[{i}]"
        if not isinstance(expr, Mapping):
            raise FieldError(f"must be an object, got {type(expr).__name__}", path)
        for name in expr:
            if name not in ("key", "operator", "values"):
                raise FieldError(f'unknown field "{name}"', path)
        operator, values = expr.get("operator"), expr.get("values") or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise FieldError("must be a list of strings", f"{path}.values")
        if operator in ("In", "NotIn"):
            if not values:
                raise FieldError(
                    "Required value: must be specified when `operator` is 'In' or 'NotIn'", f"{path}.values"
                )
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                raise FieldError(
                    "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'", f"{path}.values"
                )
        elif operator is None:
            raise FieldError("Required value", f"{path}.operator")
        else:
            raise FieldError(_invalid(operator, "not a valid selector operator"), f"{path}.operator")
        key = expr.get("key")
        if key is None:
            raise FieldError("Required value", f"{path}.key")
        try:
            validate_label_key(key)
        except FieldError as err:
            raise err.under(f"{path}.key") from None
        for j, item in enumerate(values):
            try:
                validate_label_value(item)
            except FieldError as err:
                raise err.under(f"{path}.values[{j}]") from None
        reqs.append(Requirement(key, _EXPRESSION_OPERATORS[operator], tuple(values)))
    return tuple(reqs)


# --- the string form (labels.Parse) ----------------------------------------------------

_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
# Literal tokens of the lexer (string2token).
_TOKENS = {
    ")": "CLOSE",
    ",": "COMMA",
    "!": "NOT",
    "==": "DOUBLE_EQUALS",
    "=": "EQUALS",
    ">": "GT",
    "in": "IN",
    "<": "LT",
    "!=": "NOT_EQUALS",
    "notin": "NOT_IN",
    "(": "OPEN",
}
_BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt"


def _lex(text: str) -> list[tuple[str, str]]:
    """Tokens of a selector string as (kind, literal), ending with ("END", "")."""
    items: list[tuple[str, str]] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= end:
            items.append(("END", ""))
            return items
        if text[pos] in _SPECIAL:
            # Longest run of special symbols that still forms a token ("!=", "==").
            buffer, best = "", None
            while pos < end and text[pos] in _SPECIAL:
                candidate = buffer + text[pos]
                if candidate in _TOKENS:
                    buffer, best = candidate, (_TOKENS[candidate], candidate)
                    pos += 1
                elif best is not None:
                    break
                else:
                    buffer = candidate
                    pos += 1
            if best is None:
                raise FieldError(f"error expected: keyword found '{buffer}'")
            items.append(best)
        else:
            start = pos
            while pos < end and text[pos] not in _SPECIAL and text[pos] not in _WHITESPACE:
                pos += 1
            word = text[start:pos]
            items.append((_TOKENS.get(word, "ID"), word))


class _Parser:
    """The recursive-descent parser of labels.Parse, over pre-lexed tokens."""

    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    def peek(self, values: bool = True) -> tuple[str, str]:
        kind, lit = self.items[self.pos]
        return ("ID" if values and kind in ("IN", "NOT_IN") else kind), lit

    def take(self, values: bool = True) -> tuple[str, str]:
        item = self.peek(values)
        self.pos += 1
        return item

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            kind, lit = self.peek()
            if kind == "END":
                return reqs
            if kind not in ("ID", "NOT"):
                raise FieldError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self.requirement())
            except FieldError as err:
                raise FieldError(f"unable to parse requirement: {err}") from None
            kind, lit = self.take()
            if kind == "END":
                return reqs
            if kind != "COMMA":
                raise FieldError(f"found '{lit}', expected: ',' or 'end of string'")
            kind2, lit2 = self.peek()
            if kind2 not in ("ID", "NOT"):
                raise FieldError(f"found '{lit2}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        kind, key = self.take()
        negated = kind == "NOT"
        if negated:
            kind, key = self.take()
        if kind != "ID":
            raise FieldError(f"found '{key}', expected: identifier")
        validate_label_key(key)
        if negated:  # "!key" is complete; whatever follows must be "," or the end
            return Requirement(key, Operator.DOES_NOT_EXIST)
        if self.peek()[0] in ("END", "COMMA"):
            return Requirement(key, Operator.EXISTS)
        kind, lit = self.take(values=False)
        operator = {
            "IN": Operator.IN,
            "NOT_IN": Operator.NOT_IN,
            "EQUALS": Operator.EQUALS,
            "DOUBLE_EQUALS": Operator.DOUBLE_EQUALS,
            "NOT_EQUALS": Operator.NOT_EQUALS,
            "GT": Operator.GREATER_THAN,
            "LT": Operator.LESS_THAN,
        }.get(kind)
        if operator is None:
            raise FieldError(f"found '{lit}', expected: {_BINARY_OPERATORS}")
        values = self.set_values() if operator in (Operator.IN, Operator.NOT_IN) else self.exact_value()
        return Requirement(key, operator, tuple(sorted(values)))

    def set_values(self) -> set[str]:
        kind, lit = self.take()
        if kind != "OPEN":
            raise FieldError(f"found '{lit}' expected: '('")
        kind, lit = self.peek()
        if kind == "CLOSE":  # "()" means the one empty value
            self.take()
            return {""}
        if kind not in ("ID", "COMMA"):
            raise FieldError(f"found '{lit}', expected: ',', ')' or identifier")
        values: set[str] = set()
        while True:
            kind, lit = self.take()
            if kind == "ID":
                values.add(lit)
                kind2, lit2 = self.peek()
                if kind2 == "CLOSE":
                    break
                if kind2 != "COMMA":
                    raise FieldError(f"found '{lit2}', expected: ',' or ')'")
            elif kind == "COMMA":  # empty values: "(,a", "a,)", "a,,b"
                if not values:
                    values.add("")
                kind2, _ = self.peek()
                if kind2 == "CLOSE":
                    values.add("")
                    break
                if kind2 == "COMMA":
                    self.take()
                    values.add("")
            else:
                raise FieldError(f"found '{lit}', expected: ',', or identifier")
        self.take()  # the ")"
        return values

    def exact_value(self) -> set[str]:
        kind, _ = self.peek()
        if kind in ("END", "COMMA"):
            return {""}
        kind, lit = self.take()
        if kind == "ID":
            return {lit}
        raise FieldError(f"found '{lit}', expected: identifier")


def parse_selector_string(text: str) -> LabelSelector:
    """Parse kubectl's `-l` selector string (`labels.Parse`); "" selects everything."""
    reqs = _Parser(text).parse()
    return LabelSelector(tuple(reqs)) if reqs else EVERYTHING


def selector_from_set(labels: Mapping[str, str]) -> LabelSelector:
    """An equality selector for a plain map (`SelectorFromSet`): an empty map matches everything."""
    return LabelSelector(tuple(Requirement(k, Operator.EQUALS, (v,)) for k, v in labels.items()))


def service_selects(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    """Whether a Service with `spec.selector` picks a Pod with `labels`; None or {} picks nothing.

    apimachinery's SelectorFromSet treats an empty map as "everything"; the rule that a
    Service without a selector gets no endpoints belongs to the EndpointSlice (and
    Endpoints) controller, whose syncService returns early when `Spec.Selector == nil`.
    An empty map reaches it as nil because `selector` is `omitempty` on the wire and in
    storage.  Controllers call this helper so the rule lives in one place.
    """
    if not selector:
        return False
    return all(key in labels and labels[key] == value for key, value in selector.items())
