"""Filter and orderby parsing/evaluation (emulator.odata)."""

import pytest

from emulator.odata import ODataError, parse_filter, parse_orderby, tokenize
from emulator.resources.devices import FILTER_FIELDS
from emulator.odata import fields_by_name

FIELDS = fields_by_name(FILTER_FIELDS)

DEVICES = [
    {"id": "device1", "displayName": "Thermostat - device1", "enabled": True, "provisioned": False,
     "simulated": True, "template": "dtmi:contoso:Thermostat;1", "organizations": ["redmond"]},
    {"id": "device2", "displayName": "thermostat2", "enabled": False, "provisioned": False,
     "simulated": False, "template": "dtmi:contoso:Thermostat;1", "organizations": ["seattle"]},
    {"id": "gw-1", "displayName": "O'Brien gateway", "enabled": True, "provisioned": True,
     "simulated": False, "template": None, "organizations": []},
    {"id": "26whl7mure6", "displayName": "Checkout", "enabled": False, "provisioned": True,
     "simulated": True, "template": "dtmi:contoso:TemperatureController;1"},
]


def ids(expression):
    predicate = parse_filter(expression, FIELDS)
    return [d["id"] for d in DEVICES if predicate(d)]


@pytest.mark.parametrize("expression, expected", [
    ("id eq 'device1'", ["device1"]),
    ("id ne 'device1'", ["device2", "gw-1", "26whl7mure6"]),
    ("id lt 'device2'", ["device1", "26whl7mure6"]),
    ("id le 'device2'", ["device1", "device2", "26whl7mure6"]),
    ("id gt 'device2'", ["gw-1"]),
    ("id ge 'device2'", ["device2", "gw-1"]),
    ("Enabled ne true", ["device2", "26whl7mure6"]),
    ("enabled eq false", ["device2", "26whl7mure6"]),
    ("provisioned eq true", ["gw-1", "26whl7mure6"]),
    ("simulated eq false", ["device2", "gw-1"]),
    ("template eq 'dtmi:contoso:Thermostat;1'", ["device1", "device2"]),
    ("template eq null", ["gw-1"]),
    ("template ne null", ["device1", "device2", "26whl7mure6"]),
    ("scopes eq 'redmond'", ["device1"]),
    ("scopes ne 'redmond'", ["device2", "gw-1", "26whl7mure6"]),
    ("id eq 'device1' and scopes eq 'redmond'", ["device1"]),
    ("id eq 'device1' and enabled eq true", ["device1"]),
    ("id eq 'device1' or simulated eq false", ["device1", "device2", "gw-1"]),
    ("displayName eq 'O''Brien gateway'", ["gw-1"]),
    ("DISPLAYNAME EQ 'Checkout'", ["26whl7mure6"]),
])
def test_comparisons(expression, expected):
    assert ids(expression) == expected


def test_and_binds_tighter_than_or():
    # a or (b and c): device1 via a; gw-1 matches b and c.
    assert ids("id eq 'device1' or enabled eq true and provisioned eq true") == ["device1", "gw-1"]
    # (a or b) and c
    assert ids("(id eq 'device1' or enabled eq true) and provisioned eq true") == ["gw-1"]


def test_nested_parentheses():
    assert ids("((id eq 'device1') or (id eq 'device2' and (enabled eq false)))") == ["device1", "device2"]


def test_contains_boolean_style_is_case_sensitive():
    assert ids("contains(displayName, 'Thermostat')") == ["device1"]
    assert ids("contains(displayName, 'hermostat')") == ["device1", "device2"]
    assert ids("contains(displayName, 'thermostat') eq false") == ["device1", "gw-1", "26whl7mure6"]


def test_contains_numeric_style_from_the_2022_07_31_howto():
    assert ids("contains(displayName, 'hermostat') ge 0") == ["device1", "device2"]
    assert ids("contains(displayName, 'hermostat') lt 0") == ["gw-1", "26whl7mure6"]
    assert ids("contains(displayName, 'hermostat') le -1") == ["gw-1", "26whl7mure6"]
    # Position semantics: 'thermostat2' has the text at 0, 'Thermostat - device1' at 0 as well for 'T'.
    assert ids("contains(displayName, 'device1') gt 0") == ["device1"]
    assert ids("contains(displayName, 'thermostat2') gt 0") == []


def test_contains_combined_with_comparisons():
    assert ids("contains(displayName, 'hermostat') and enabled eq true") == ["device1"]
    assert ids("contains(id, 'device') and (scopes eq 'seattle' or scopes eq 'redmond')") == ["device1", "device2"]


@pytest.mark.parametrize("expression, fragment, position", [
    ("", "empty", 0),
    ("id eq", "expected a quoted string literal but found end of expression at position 5", 5),
    ("id equals 'x'", "expected a comparison operator (eq, ne, lt, le, gt, ge) after 'id' but found 'equals' "
                      "at position 3", 3),
    ("colour eq 'red'", "unknown field 'colour' at position 0", 0),
    ("enabled eq 'yes'", "field 'enabled' is a boolean: expected true or false but found string 'yes' at "
                         "position 11", 11),
    ("id eq true", "field 'id' is a string", 6),
    ("(id eq 'a'", "expected ')' but found end of expression at position 10", 10),
    ("id eq 'a')", "expected 'and', 'or' or the end of the expression but found ')' at position 9", 9),
    ("id eq 'a' and", "but found end of expression at position 13", 13),
    ("id eq 'abc", "unterminated string literal starting at position 6", 6),
    ("id eq 'a' && enabled eq true", "unexpected character '&' at position 10", 10),
    ("startswith(id, 'a')", "unsupported function 'startswith' at position 0", 0),
    ("contains(enabled, 'a')", "contains() needs a string field but 'enabled' (position 9) is a boolean", 9),
    ("contains(displayName 'a')", "expected ',' but found string 'a' at position 21", 21),
    ("contains(displayName, 'a') ge 'x'", "contains() can be compared with an integer", 30),
    ("id eq 'a' or or", "expected a field name", 13),
])
def test_errors_point_at_the_offending_token(expression, fragment, position):
    with pytest.raises(ODataError) as info:
        parse_filter(expression, FIELDS)
    assert fragment in str(info.value)
    assert info.value.position == position


def test_tokenizer_handles_escaped_quotes_and_negative_numbers():
    tokens = tokenize("displayName eq 'it''s' and contains(id, 'x') le -1")
    assert [t.kind for t in tokens] == ["ident", "cmp", "string", "and", "ident", "(", "ident", ",", "string", ")",
                                        "cmp", "number", "end"]
    assert tokens[2].value == "it's"
    assert tokens[11].value == -1


@pytest.mark.parametrize("text, expected", [
    ("displayName", ("displayName", False)),
    ("displayName asc", ("displayName", False)),
    ("displayName desc", ("displayName", True)),
    ("DisplayName   DESC", ("displayName", True)),
])
def test_orderby(text, expected):
    assert parse_orderby(text, {"displayname": "displayName"}) == expected


@pytest.mark.parametrize("text, fragment", [
    ("id", "cannot order by 'id' (position 0)"),
    ("displayName up", "expected 'asc' or 'desc' but found 'up' at position 12"),
    ("displayName asc, id", "orderby must be"),
    ("", "orderby must be"),
])
def test_orderby_errors(text, fragment):
    with pytest.raises(ODataError) as info:
        parse_orderby(text, {"displayname": "displayName"})
    assert fragment in str(info.value)
