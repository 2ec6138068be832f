"""Label selectors: the dict form, the string form, matching, validation, Service selectors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.api.errors import FieldError
from netsim.api.selector import (
    EVERYTHING,
    NOTHING,
    LabelSelector,
    Operator,
    Requirement,
    label_value_errors,
    parse_selector_string,
    qualified_name_errors,
    selector_from_set,
    service_selects,
    validate_label_key,
    validate_label_value,
)

WEB = {"app": "web", "tier": "frontend", "env": "prod"}


def test_match_labels_and_expressions() -> None:
    sel = LabelSelector.from_dict(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["frontend", "backend"]},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "app", "operator": "Exists"},
            ],
        }
    )
    assert sel.matches(WEB)
    assert not sel.matches({**WEB, "canary": "true"})
    assert not sel.matches({**WEB, "tier": "db"})
    assert not sel.matches({**WEB, "env": "dev"})
    assert sel.matches({"app": "web", "tier": "backend"})  # NotIn matches an absent key
    assert not sel.matches({"tier": "frontend"})


def test_string_form_sorted_by_key_with_sorted_values() -> None:
    sel = LabelSelector.from_dict(
        {
            "matchLabels": {"tier": "web", "app": "x"},
            "matchExpressions": [
                {"key": "zone", "operator": "In", "values": ["b", "a"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "gpu", "operator": "Exists"},
            ],
        }
    )
    assert str(sel) == "app=x,!canary,env notin (dev),gpu,tier=web,zone in (a,b)"


def test_empty_selector_matches_everything_and_none_matches_nothing() -> None:
    assert LabelSelector.from_dict({}) is EVERYTHING
    assert LabelSelector.from_dict({"matchLabels": {}, "matchExpressions": []}) is EVERYTHING
    assert EVERYTHING.matches({}) and EVERYTHING.matches(WEB)
    assert EVERYTHING.is_empty()
    assert LabelSelector.from_dict(None) is NOTHING
    assert not NOTHING.matches({}) and not NOTHING.matches(WEB)
    assert not NOTHING.is_empty()
    assert str(EVERYTHING) == "" and str(NOTHING) == ""


@pytest.mark.parametrize(
    ("data", "field", "problem"),
    [
        (
            {"matchExpressions": [{"key": "a", "operator": "Foo"}]},
            "matchExpressions[0].operator",
            'Invalid value: "Foo": not a valid selector operator',
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "in", "values": ["x"]}]},
            "matchExpressions[0].operator",
            'Invalid value: "in": not a valid selector operator',
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "In"}]},
            "matchExpressions[0].values",
            "Required value: must be specified when `operator` is 'In' or 'NotIn'",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": []}]},
            "matchExpressions[0].values",
            "Required value: must be specified when `operator` is 'In' or 'NotIn'",
        ),
        (
            {
                "matchExpressions": [
                    {"key": "ok", "operator": "Exists"},
                    {"key": "a", "operator": "Exists", "values": ["x"]},
                ]
            },
            "matchExpressions[1].values",
            "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "DoesNotExist", "values": ["x"]}]},
            "matchExpressions[0].values",
            "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        ),
        ({"matchExpressions": [{"operator": "Exists"}]}, "matchExpressions[0].key", "Required value"),
        ({"matchExpressions": [{"key": "a"}]}, "matchExpressions[0].operator", "Required value"),
        (
            {"matchExpressions": [{"key": "a", "operator": "Exists", "extra": 1}]},
            "matchExpressions[0]",
            'unknown field "extra"',
        ),
        ({"matchExpressions": {"key": "a"}}, "matchExpressions", "must be a list, got dict"),
        ({"matchLabels": ["a"]}, "matchLabels", "must be a map of strings, got list"),
        ({"matchLabel": {"a": "b"}}, "", 'unknown field "matchLabel"'),
    ],
)
def test_selector_validation_errors(data: dict, field: str, problem: str) -> None:
    with pytest.raises(FieldError) as err:
        LabelSelector.from_dict(data)
    assert err.value.field == field
    assert err.value.problem == problem


def test_bad_keys_and_values_name_the_subfield() -> None:
    with pytest.raises(FieldError) as err:
        LabelSelector.from_dict({"matchExpressions": [{"key": "-a", "operator": "Exists"}]})
    assert err.value.field == "matchExpressions[0].key"
    assert err.value.problem.startswith('Invalid value: "-a": name part must consist of alphanumeric')
    with pytest.raises(FieldError) as err:
        LabelSelector.from_dict({"matchExpressions": [{"key": "a", "operator": "In", "values": ["ok", "bad value"]}]})
    assert err.value.field == "matchExpressions[0].values[1]"
    with pytest.raises(FieldError) as err:
        LabelSelector.from_dict({"matchLabels": {"app": "-web"}})
    assert err.value.field == "matchLabels"
    assert err.value.problem.startswith('Invalid value: "-web": a valid label must be an empty string')
    with pytest.raises(FieldError) as err:
        LabelSelector.from_dict({"matchLabels": {"app": 3}})
    assert err.value.field == "matchLabels"


def test_error_under_a_prefix_reads_like_the_api_server() -> None:
    with pytest.raises(FieldError) as err:
        LabelSelector.from_dict({"matchExpressions": [{"key": "a", "operator": "Foo"}]})
    assert str(err.value.under("spec.selector")) == (
        'spec.selector.matchExpressions[0].operator: Invalid value: "Foo": not a valid selector operator'
    )


# --- label key / value syntax (apimachinery util/validation) ---------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "app",
        "a",
        "app.kubernetes.io/name",
        "example.com/MyName",
        "my.name",
        "123-abc",
        "A_b-c.D",
        "x" * 63,
        "a/" + "x" * 63,
    ],
)
def test_valid_label_keys(key: str) -> None:
    assert qualified_name_errors(key) == []
    validate_label_key(key)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "name part must be non-empty"),
        ("-app", "name part must consist of alphanumeric characters"),
        ("app-", "name part must consist of alphanumeric characters"),
        ("x" * 64, "name part must be no more than 63 characters"),
        ("/app", "prefix part must be non-empty"),
        ("Example.com/app", "prefix part a lowercase RFC 1123 subdomain"),
        ("a/b/c", "a qualified name must consist of"),
        ("example.com/", "name part must be non-empty"),
        ("app name", "name part must consist of"),
    ],
)
def test_invalid_label_keys(key: str, message: str) -> None:
    errors = qualified_name_errors(key)
    assert any(e.startswith(message) for e in errors), errors
    with pytest.raises(FieldError):
        validate_label_key(key)


def test_regex_error_wording_matches_apimachinery() -> None:
    assert qualified_name_errors("-x") == [
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
        "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
        "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
    ]


@pytest.mark.parametrize("value", ["", "web", "v1.2_3-x", "A", "x" * 63])
def test_valid_label_values(value: str) -> None:
    assert label_value_errors(value) == []
    validate_label_value(value)


@pytest.mark.parametrize("value", ["-web", "web-", "a b", "x" * 64, "a/b", "é"])
def test_invalid_label_values(value: str) -> None:
    assert label_value_errors(value)
    with pytest.raises(FieldError):
        validate_label_value(value)


# --- the string form -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("", ""),
        ("app=web", "app=web"),
        ("app==web", "app==web"),
        ("env!=prod", "env!=prod"),
        ("app=web,env!=prod,tier in (a,b),x,!y", "app=web,env!=prod,tier in (a,b),x,!y"),
        ("z,a=1", "a=1,z"),  # sorted by key
        ("tier in (b, a)", "tier in (a,b)"),
        ("tier notin (b,a,a)", "tier notin (a,b)"),
        ("  app = web  ,  !y ", "app=web,!y"),
        ("x=", "x="),
        ("x in ()", "x in ()"),
        ("x notin (a,,b)", "x notin (,a,b)"),
        ("x in (,a)", "x in (,a)"),
        ("x in (in,notin)", "x in (in,notin)"),
        ("replicas>3", "replicas>3"),
        ("replicas<3", "replicas<3"),
        ("example.com/name=v", "example.com/name=v"),
    ],
)
def test_parse_selector_string(text: str, printed: str) -> None:
    assert str(parse_selector_string(text)) == printed


def test_parsed_selector_matches() -> None:
    sel = parse_selector_string("app=web,env!=prod,tier in (a,b),x,!y")
    assert sel.matches({"app": "web", "tier": "a", "x": ""})
    assert sel.matches({"app": "web", "tier": "b", "x": "1", "env": "dev"})
    assert not sel.matches({"app": "web", "tier": "a", "x": "", "env": "prod"})
    assert not sel.matches({"app": "web", "tier": "c", "x": ""})
    assert not sel.matches({"app": "web", "tier": "a"})
    assert not sel.matches({"app": "web", "tier": "a", "x": "", "y": ""})
    assert parse_selector_string("").matches({})


def test_greater_and_less_than_compare_integers() -> None:
    gt = parse_selector_string("n>3")
    assert gt.matches({"n": "4"}) and not gt.matches({"n": "3"}) and not gt.matches({"n": "x"})
    assert not gt.matches({})
    assert parse_selector_string("n<3").matches({"n": "-1"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("!x=y", "found '=', expected: ',' or 'end of string'"),
        ("x=a=b", "found '=', expected: ',' or 'end of string'"),
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("=a", "found '=', expected: !, identifier, or 'end of string'"),
        ("x in a", "unable to parse requirement: found 'a' expected: '('"),
        ("x in (a", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("a,", "found '', expected: identifier after ','"),
        ("a,,b", "found ',', expected: identifier after ','"),
        (
            "x>a",
            "unable to parse requirement: values[0]: Invalid value: \"a\": "
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        ("-x", 'unable to parse requirement: Invalid value: "-x": name part must consist of'),
        ("x=-y", "unable to parse requirement: values[0]: Invalid value: \"-y\""),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(FieldError) as err:
        parse_selector_string(text)
    assert err.value.problem.startswith(message), err.value.problem


def test_requirement_is_validated_on_construction() -> None:
    with pytest.raises(FieldError):
        Requirement("a", Operator.IN, ())
    with pytest.raises(FieldError):
        Requirement("a", Operator.EQUALS, ("x", "y"))
    with pytest.raises(FieldError):
        Requirement("a", Operator.EXISTS, ("x",))
    with pytest.raises(FieldError):
        Requirement("-a", Operator.EXISTS)
    req = Requirement("a", Operator.IN, ["x"])
    assert req.values == ("x",)
    with pytest.raises(AttributeError):
        req.key = "b"  # type: ignore[misc]


# --- Service selectors -------------------------------------------------------------------------


def test_service_selector_is_equality_and_empty_selects_nothing() -> None:
    assert service_selects({"app": "web"}, WEB)
    assert service_selects({"app": "web", "tier": "frontend"}, WEB)
    assert not service_selects({"app": "db"}, WEB)
    assert not service_selects({"missing": ""}, WEB)
    assert not service_selects({}, WEB)
    assert not service_selects(None, WEB)


def test_selector_from_set_treats_empty_as_everything() -> None:
    assert selector_from_set({}).matches(WEB)
    assert str(selector_from_set({"b": "2", "a": "1"})) == "a=1,b=2"


# --- properties -------------------------------------------------------------------------------

_names = st.from_regex(r"[a-z0-9]([a-z0-9._-]{0,10}[a-z0-9])?", fullmatch=True)
_keys = st.one_of(_names, st.builds(lambda p, n: f"{p}.io/{n}", st.from_regex(r"[a-z]{1,8}", fullmatch=True), _names))


@st.composite
def requirements(draw: st.DrawFn) -> Requirement:
    key = draw(_keys)
    op = draw(st.sampled_from(list(Operator)))
    if op in (Operator.EXISTS, Operator.DOES_NOT_EXIST):
        values: tuple[str, ...] = ()
    elif op in (Operator.IN, Operator.NOT_IN):
        values = tuple(sorted(set(draw(st.lists(_names, min_size=1, max_size=4)))))
    elif op in (Operator.GREATER_THAN, Operator.LESS_THAN):
        values = (str(draw(st.integers(0, 1000))),)  # "-1" is not a valid label value
    else:
        values = (draw(_names),)
    return Requirement(key, op, values)


@given(st.lists(requirements(), min_size=1, max_size=5))
def test_string_form_round_trips(reqs: list[Requirement]) -> None:
    sel = LabelSelector(tuple(reqs))
    again = parse_selector_string(str(sel))
    assert str(again) == str(sel)
    assert again == sel


@given(
    st.dictionaries(_names, _names, max_size=4),
    st.dictionaries(_names, _names, max_size=6),
)
def test_match_labels_agrees_with_equality(selector: dict[str, str], labels: dict[str, str]) -> None:
    sel = LabelSelector.from_dict({"matchLabels": selector})
    expected = all(labels.get(k) == v for k, v in selector.items())
    assert sel.matches(labels) == expected
