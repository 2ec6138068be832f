"""Field checks: small functions that raise `FieldError(problem)` for a bad value.

Each check looks at one value and says in words what is wrong with it,
including the value it got. The schema (`schema.py`) says which check applies
to which field; the validator adds the field path and the object's place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from ipaddress import ip_address, ip_network
from typing import Any

from netsim.api.errors import FieldError

Check = Callable[[Any], None]

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def describe(value: Any) -> str:
    """A value as an error message shows it: its JSON type and, for scalars, the value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value:g}"
    if isinstance(value, str):
        return f'string "{value}"'
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def string(value: Any) -> None:
    if not isinstance(value, str):
        raise FieldError(f"must be a string, got {describe(value)}")


def integer(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"must be an integer, got {describe(value)}")


def boolean(value: Any) -> None:
    if not isinstance(value, bool):
        raise FieldError(f"must be a boolean, got {describe(value)}")


def mapping(value: Any) -> None:
    if not isinstance(value, dict):
        raise FieldError(f"must be an object, got {describe(value)}")


def sequence(value: Any) -> None:
    if not isinstance(value, list):
        raise FieldError(f"must be a list, got {describe(value)}")


def string_map(value: Any) -> None:
    """A map of string to string (labels, annotations, selectors, nodeSelector)."""
    mapping(value)
    for key, item in value.items():
        if not isinstance(item, str):
            raise FieldError(f"must be a string, got {describe(item)}", str(key))


def in_range(low: int, high: int) -> Check:
    """An integer between low and high inclusive."""

    def check(value: Any) -> None:
        integer(value)
        if not low <= value <= high:
            raise FieldError(f"must be between {low} and {high}, got {value}")

    return check


port_number = in_range(1, 65535)


def non_negative(value: Any) -> None:
    integer(value)
    if value < 0:
        raise FieldError(f"must be greater than or equal to 0, got {value}")


def one_of(*allowed: str) -> Check:
    """A string from a closed set (an enum field)."""

    def check(value: Any) -> None:
        string(value)
        if value not in allowed:
            raise FieldError(f'must be one of {", ".join(allowed)}; got "{value}"')

    return check


protocol = one_of("TCP", "UDP", "SCTP")


def int_or_port_name(value: Any) -> None:
    """A port number, or a port name (IANA service name syntax), as targetPort takes."""
    if isinstance(value, str):
        if not (_IANA_SVC_NAME.match(value) and len(value) <= 15 and re.search("[a-z]", value)):
            raise FieldError(f'must be a port number or an IANA service name, got "{value}"')
        return
    port_number(value)


def int_or_percent(value: Any) -> None:
    """A non-negative count or a percentage up to 100% (ValidatePositiveIntOrPercent, IsNotMoreThan100Percent)."""
    if isinstance(value, str):
        match = re.fullmatch(r"([0-9]+)%", value)
        if match is None:
            raise FieldError(f'must be an integer or percentage (e.g. "5%"), got "{value}"')
        if int(match.group(1)) > 100:
            raise FieldError(f'must not be greater than 100%, got "{value}"')
        return
    non_negative(value)


def disruption_budget_spec(value: Any) -> None:
    """A PodDisruptionBudget's spec: a mapping with at most one of minAvailable and maxUnavailable."""
    mapping(value)
    if value.get("minAvailable") is not None and value.get("maxUnavailable") is not None:
        raise FieldError("minAvailable and maxUnavailable cannot be both set")


def dns_label(value: Any) -> None:
    """An RFC 1123 label (namespace names, port names)."""
    string(value)
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise FieldError(f'must be a lowercase RFC 1123 label (at most 63 characters of a-z, 0-9 and "-", '
                         f'starting and ending with an alphanumeric character), got "{value}"')


def dns1035_label(value: Any) -> None:
    """An RFC 1035 label (Service names): starts with a letter."""
    string(value)
    if len(value) > 63 or not _DNS1035_LABEL.match(value):
        raise FieldError(f'must be a DNS-1035 label (at most 63 characters of a-z, 0-9 and "-", '
                         f'starting with a letter and ending with an alphanumeric character), got "{value}"')


def dns_subdomain(value: Any) -> None:
    """An RFC 1123 subdomain (most object names)."""
    string(value)
    if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
        raise FieldError(f'must be a lowercase RFC 1123 subdomain (a-z, 0-9, "-" and ".", '
                         f'starting and ending with an alphanumeric character), got "{value}"')


def ip(value: Any) -> None:
    string(value)
    try:
        ip_address(value)
    except ValueError:
        raise FieldError(f'must be a valid IP address, got "{value}"') from None


def cluster_ip(value: Any) -> None:
    """spec.clusterIP: an IP address, "None" (headless) or "" (allocate one)."""
    string(value)
    if value not in ("", "None"):
        ip(value)


def cidr(value: Any) -> None:
    string(value)
    try:
        ip_network(value, strict=False)
    except ValueError:
        raise FieldError(f'must be a valid CIDR, got "{value}"') from None


def quantity(value: Any) -> None:
    """A resource quantity ("100m", "1Gi", 2)."""
    from netsim.api.quantity import Quantity

    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FieldError(f"must be a quantity, got {describe(value)}")
    Quantity.parse(value)


def quantity_map(value: Any) -> None:
    """resources.requests / limits / capacity: resource name → quantity."""
    mapping(value)
    for key, item in value.items():
        try:
            quantity(item)
        except FieldError as err:
            raise err.under(str(key)) from None


def label_selector(value: Any) -> None:
    """A metav1.LabelSelector (matchLabels, matchExpressions)."""
    from netsim.api.selector import LabelSelector

    mapping(value)
    LabelSelector.from_dict(value)


def labels(value: Any) -> None:
    """metadata.labels: keys are qualified names, values are label values."""
    from netsim.api.selector import validate_label_key, validate_label_value

    string_map(value)
    for key, item in value.items():
        try:
            validate_label_key(key)
            validate_label_value(item)
        except FieldError as err:
            raise err.under(str(key)) from None
