"""The device query of a device group (``DeviceGroup.filter``), evaluated for real.

IoT Central defines a group by a query such as
``SELECT * FROM devices WHERE $template = "dtmi:contoso:Thermostat;1" AND $provisioned = true``.
The emulator understands this subset and refuses everything else with a
:class:`QueryError` naming the 0-based character position of the problem, so a
query it does not understand is never treated as "all devices"::

    query      := SELECT "*" FROM devices [WHERE expr]
    expr       := and_expr (OR and_expr)*            -- AND binds tighter than OR
    and_expr   := primary (AND primary)*
    primary    := "(" expr ")" | field ("=" | "!=") literal
    field      := $id | $displayName | $template | $provisioned | $simulated | $enabled | $organizations
    literal    := "double-quoted" | 'single-quoted' | true | false

Keywords (SELECT, FROM, devices, WHERE, AND, OR, true, false) and field names
are case-insensitive; string comparisons are exact (case-sensitive). Inside a
string literal a backslash escapes the next character (``\\"``, ``\\'``,
``\\\\``). ``$organizations = "x"`` means the device belongs to organization
``x``; ``!=`` means it does not. A device without a template never equals a
``$template`` literal and always differs from one.
"""

import functools

from .lexer import BACKSLASH, Lexicon, TokenParser

STRING = "string"
BOOLEAN = "boolean"
MEMBERSHIP = "membership"

FIELDS = {
    "$id": ("$id", STRING, lambda d: d.get("id")),
    "$displayname": ("$displayName", STRING, lambda d: d.get("displayName")),
    "$template": ("$template", STRING, lambda d: d.get("template")),
    "$provisioned": ("$provisioned", BOOLEAN, lambda d: bool(d.get("provisioned"))),
    "$simulated": ("$simulated", BOOLEAN, lambda d: bool(d.get("simulated"))),
    "$enabled": ("$enabled", BOOLEAN, lambda d: bool(d.get("enabled"))),
    "$organizations": ("$organizations", MEMBERSHIP, lambda d: d.get("organizations") or ()),
}
FIELD_NAMES = ", ".join(spelling for spelling, _kind, _getter in FIELDS.values())
KEYWORDS = ("select", "from", "where", "and", "or", "true", "false", "not", "null")


class QueryError(ValueError):
    """The query is not understood; ``position`` is the 0-based offset of the offending token."""

    def __init__(self, message, position):
        super().__init__(message)
        self.position = position


def _classify(raw):
    if raw.startswith("$"):
        return "field", raw
    if raw.lower() in KEYWORDS:
        return raw.lower(), raw.lower()
    return "word", raw


LEXICON = Lexicon(QueryError, word=r"\$?[A-Za-z_][A-Za-z0-9_]*", classify_word=_classify, quotes="\"'",
                  escape=BACKSLASH, number=r"-?\d+(?:\.\d+)?", number_value=str,
                  operators=("!=", "<>", "<=", ">=", "==", "=", "<", ">"), punctuation="()*",
                  end_text="the end of the query", string_label="the string")


def tokenize(text):
    return LEXICON.tokenize(text)


class _Parser(TokenParser):
    lexicon = LEXICON

    def parse(self):
        if self.peek().kind == "end":
            raise QueryError("the query is empty; use SELECT * FROM devices [WHERE ...]", 0)
        self.expect("select", "SELECT")
        self.expect("*", "'*' (only SELECT * is supported)")
        self.expect("from", "FROM")
        source = self.peek()
        if source.kind != "word" or source.value.lower() != "devices":
            raise self.error("expected 'devices' (only SELECT * FROM devices is supported)", source)
        self.take()
        if self.peek().kind == "end":
            return lambda device: True
        self.expect("where", "WHERE or the end of the query")
        predicate = self.parse_or()
        if self.peek().kind != "end":
            raise self.error("expected AND, OR or the end of the query", self.peek())
        return predicate

    def parse_primary(self):
        token = self.peek()
        if token.kind == "(":
            self.take()
            predicate = self.parse_or()
            self.expect(")", "')'")
            return predicate
        if token.kind == "not":
            raise QueryError("NOT is not supported (position %d); use != instead" % token.pos, token.pos)
        if token.kind != "field":
            raise self.error("expected a device field (%s) or '('" % FIELD_NAMES, token)
        self.take()
        entry = FIELDS.get(token.value.lower())
        if entry is None:
            raise QueryError("unknown field '%s' at position %d; supported fields: %s"
                             % (token.value, token.pos, FIELD_NAMES), token.pos)
        name, kind, getter = entry
        operator = self.peek()
        if operator.kind != "op":
            raise self.error("expected '=' or '!=' after %s" % name, operator)
        if operator.value not in ("=", "!="):
            raise QueryError("unsupported operator '%s' at position %d; only = and != are supported"
                             % (operator.value, operator.pos), operator.pos)
        self.take()
        literal = self.take()
        if kind == BOOLEAN:
            if literal.kind not in ("true", "false"):
                raise self.error("expected true or false (%s is a boolean)" % name, literal)
            value = literal.kind == "true"
        elif literal.kind != "string":
            raise self.error("expected a quoted string (%s is a string)" % name, literal)
        else:
            value = literal.value
        equal = operator.value == "="
        if kind == MEMBERSHIP:
            return lambda device: (value in getter(device)) == equal
        return lambda device: (getter(device) == value) == equal


def compile_query(text):
    """Return ``predicate(device_record) -> bool`` for a device group query, or raise :class:`QueryError`."""
    if not isinstance(text, str):
        raise QueryError("the query must be a string", 0)
    return _compile(text)


# Membership is evaluated on every read, so the same few group queries are compiled again and again.
@functools.lru_cache(maxsize=256)
def _compile(text):
    return _Parser(text).parse()


def check_query(text):
    """Return None if ``text`` is a query the emulator understands, otherwise the error message."""
    try:
        compile_query(text)
    except QueryError as exc:
        return str(exc)
    return None
