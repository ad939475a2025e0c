"""The device group query evaluator (emulator/groupquery.py): operators, precedence, quoting, errors."""

import pytest

from emulator.groupquery import FIELDS, QueryError, check_query, compile_query

BASE = "SELECT * FROM devices WHERE "
DEVICES = [
    {"id": "t1", "displayName": "Thermo 1", "template": "dtmi:contoso:Thermostat;1", "provisioned": True,
     "simulated": False, "enabled": True, "organizations": ["seattle"]},
    {"id": "t2", "displayName": "Thermo 2", "template": "dtmi:contoso:Thermostat;1", "provisioned": False,
     "simulated": True, "enabled": True, "organizations": []},
    {"id": "c1", "displayName": "Controller", "template": "dtmi:contoso:TemperatureController;1",
     "provisioned": True, "simulated": False, "enabled": False, "organizations": ["redmond"]},
    {"id": "bare", "displayName": "bare", "template": None, "provisioned": False, "simulated": False,
     "enabled": True, "organizations": []},
]


def matching(query):
    predicate = compile_query(query)
    return sorted(d["id"] for d in DEVICES if predicate(d))


def error(query):
    with pytest.raises(QueryError) as info:
        compile_query(query)
    return info.value


@pytest.mark.parametrize("query", ["SELECT * FROM devices", "select * from devices", "  Select *  From  DEVICES  "])
def test_no_where_is_every_device(query):
    assert matching(query) == ["bare", "c1", "t1", "t2"]


@pytest.mark.parametrize("query, expected", [
    ('$id = "t1"', ["t1"]),
    ('$id != "t1"', ["bare", "c1", "t2"]),
    ('$displayName = "Controller"', ["c1"]),
    ('$template = "dtmi:contoso:Thermostat;1"', ["t1", "t2"]),
    ('$template != "dtmi:contoso:Thermostat;1"', ["bare", "c1"]),
    ("$provisioned = true", ["c1", "t1"]),
    ("$provisioned = false", ["bare", "t2"]),
    ("$provisioned != true", ["bare", "t2"]),
    ("$simulated = true", ["t2"]),
    ("$enabled = false", ["c1"]),
    ("$enabled != false", ["bare", "t1", "t2"]),
    ('$organizations = "seattle"', ["t1"]),
    ('$organizations != "seattle"', ["bare", "c1", "t2"]),
    ('$organizations = "nowhere"', []),
])
def test_every_field_and_operator(query, expected):
    assert matching(BASE + query) == expected


def test_the_how_to_example():
    query = 'SELECT * FROM devices WHERE $template = "dtmi:contoso:Thermostat;1" AND $provisioned = true'
    assert matching(query) == ["t1"]


def test_and_binds_tighter_than_or():
    # a OR (b AND c), not (a OR b) AND c.
    query = BASE + '$id = "c1" OR $simulated = true AND $enabled = false'
    assert matching(query) == ["c1"]
    query = BASE + '$id = "t2" OR $provisioned = true AND $enabled = false'
    assert matching(query) == ["c1", "t2"]


def test_parentheses_override_precedence():
    assert matching(BASE + '($id = "t2" OR $provisioned = true) AND $enabled = true') == ["t1", "t2"]
    assert matching(BASE + '((($id = "t1")))') == ["t1"]
    assert matching(BASE + '($id = "t1" OR ($id = "t2" AND $simulated = true)) AND $organizations != "x"') == [
        "t1", "t2"]


def test_keywords_and_fields_are_case_insensitive_values_are_not():
    assert matching('select * FROM devices where $ID = "t1" Or $TEMPLATE = "x" aNd $Enabled = TRUE') == ["t1"]
    assert matching(BASE + '$displayname = "controller"') == []


def test_quoting():
    assert matching(BASE + "$id = 't1' OR $id = \"t2\"") == ["t1", "t2"]
    named = dict(DEVICES[0], id="q", displayName='say "hi"\\it\'s')
    predicate = compile_query(BASE + '$displayName = "say \\"hi\\"\\\\it\'s"')
    assert predicate(named)
    predicate = compile_query(BASE + "$displayName = 'say \"hi\"\\\\it\\'s'")
    assert predicate(named)
    # Keywords inside strings are just text.
    assert compile_query(BASE + '$displayName = "a AND b OR ( )"')(dict(DEVICES[0], displayName="a AND b OR ( )"))


def test_missing_fields_on_a_device_record():
    predicate = compile_query(BASE + '$template != "x" AND $organizations != "y" AND $enabled = false')
    assert predicate({"id": "sparse"})


@pytest.mark.parametrize("query, position, words", [
    ("", 0, "empty"),
    ("   ", 0, "empty"),
    ("DELETE * FROM devices", 0, "SELECT"),
    ("SELECT id FROM devices", 7, "'*'"),
    ("SELECT * devices", 9, "FROM"),
    ("SELECT * FROM dtmi", 14, "'devices'"),
    ("SELECT * FROM devices WHERE", 27, "device field"),
    ("SELECT * FROM devices LIMIT 3", 22, "WHERE"),
    (BASE + '$foo = "x"', 28, "unknown field '$foo'"),
    (BASE + 'template = "x"', 28, "device field"),
    (BASE + '$id "x"', 32, "'=' or '!='"),
    (BASE + '$id > "x"', 32, "unsupported operator '>'"),
    (BASE + '$id == "x"', 32, "unsupported operator '=='"),
    (BASE + '$id <> "x"', 32, "unsupported operator '<>'"),
    (BASE + '$enabled = "true"', 39, "true or false"),
    (BASE + "$enabled = 1", 39, "true or false"),
    (BASE + "$id = true", 34, "quoted string"),
    (BASE + "$id = t1", 34, "quoted string"),
    (BASE + '$id = "t1', 34, "unterminated"),
    (BASE + "($id = 't1'", 39, "')'"),
    (BASE + "$id = 't1')", 38, "end of the query"),
    (BASE + "$id = 't1' $id = 't2'", 39, "AND, OR"),
    (BASE + "$id = 't1' AND", 42, "device field"),
    (BASE + "NOT $enabled = true", 28, "NOT is not supported"),
    (BASE + "$id = 't1' && $enabled = true", 39, "unexpected character '&'"),
    (BASE + "$id = null", 34, "quoted string"),
])
def test_errors_point_at_the_problem(query, position, words):
    exc = error(query)
    assert exc.position == position, str(exc)
    assert words in str(exc)
    if query.strip():
        assert "position %d" % position in str(exc)


def test_unknown_field_message_lists_supported_fields():
    message = str(error(BASE + "$tags = 'x'"))
    for spelling, _kind, _getter in FIELDS.values():
        assert spelling in message


def test_a_query_it_does_not_understand_is_never_all_devices():
    for query in ("SELECT * FROM devices WHERE $tags = 'x'", "SELECT * FROM devices WHERE", "garbage"):
        assert check_query(query) is not None
    assert check_query("SELECT * FROM devices") is None


def test_non_string_query():
    assert error(None).position == 0
    assert "string" in check_query(["SELECT * FROM devices"])
