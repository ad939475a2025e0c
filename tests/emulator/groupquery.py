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
import re

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


class _Token:
    __slots__ = ("kind", "value", "pos", "text")

    def __init__(self, kind, value, pos, text):
        self.kind = kind
        self.value = value
        self.pos = pos
        self.text = text

    def describe(self):
        if self.kind == "end":
            return "the end of the query"
        if self.kind == "string":
            return "the string %s" % self.text
        return "'%s'" % self.text


_WORD = re.compile(r"\$?[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_OPERATORS = ("!=", "<>", "<=", ">=", "==", "=", "<", ">")


def tokenize(text):
    tokens = []
    pos = 0
    length = len(text)
    while True:
        while pos < length and text[pos].isspace():
            pos += 1
        if pos >= length:
            tokens.append(_Token("end", None, pos, ""))
            return tokens
        char = text[pos]
        word = _WORD.match(text, pos)
        if word:
            raw = word.group(0)
            if raw.startswith("$"):
                tokens.append(_Token("field", raw, pos, raw))
            elif raw.lower() in KEYWORDS:
                tokens.append(_Token(raw.lower(), raw.lower(), pos, raw))
            else:
                tokens.append(_Token("word", raw, pos, raw))
            pos = word.end()
            continue
        if char in "\"'":
            value, end = _read_string(text, pos)
            tokens.append(_Token("string", value, pos, text[pos:end]))
            pos = end
            continue
        number = _NUMBER.match(text, pos)
        if number:
            tokens.append(_Token("number", number.group(0), pos, number.group(0)))
            pos = number.end()
            continue
        operator = next((op for op in _OPERATORS if text.startswith(op, pos)), None)
        if operator is not None:
            tokens.append(_Token("op", operator, pos, operator))
            pos += len(operator)
            continue
        if char in "()*":
            tokens.append(_Token(char, char, pos, char))
            pos += 1
            continue
        raise QueryError("unexpected character '%s' at position %d" % (char, pos), pos)


def _read_string(text, start):
    quote = text[start]
    chars = []
    pos = start + 1
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text):
            chars.append(text[pos + 1])
            pos += 2
            continue
        if char == quote:
            return "".join(chars), pos + 1
        chars.append(char)
        pos += 1
    raise QueryError("unterminated string literal starting at position %d" % start, start)


class _Parser:
    def __init__(self, text):
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self):
        return self.tokens[self.index]

    def take(self):
        token = self.tokens[self.index]
        self.index += 1
        return token

    @staticmethod
    def error(expected, token):
        return QueryError("expected %s but found %s at position %d" % (expected, token.describe(), token.pos),
                          token.pos)

    def expect(self, kind, expected):
        token = self.peek()
        if token.kind != kind:
            raise self.error(expected, token)
        return self.take()

    def parse(self):
        if self.peek().kind == "end":
            raise QueryError("the query is empty; use SELECT * FROM devices [WHERE ...]", 0)
        self.expect("select", "SELECT")
        self.expect("*", "'*' (only SELECT * is supported)")
        self.expect("from", "FROM")
        source = self.peek()
        if source.kind != "word" or source.value.lower() != "devices":
            raise self.error("'devices' (only SELECT * FROM devices is supported)", source)
        self.take()
        if self.peek().kind == "end":
            return lambda device: True
        self.expect("where", "WHERE or the end of the query")
        predicate = self.parse_or()
        if self.peek().kind != "end":
            raise self.error("AND, OR or the end of the query", self.peek())
        return predicate

    def parse_or(self):
        parts = [self.parse_and()]
        while self.peek().kind == "or":
            self.take()
            parts.append(self.parse_and())
        if len(parts) == 1:
            return parts[0]
        return lambda device: any(part(device) for part in parts)

    def parse_and(self):
        parts = [self.parse_primary()]
        while self.peek().kind == "and":
            self.take()
            parts.append(self.parse_primary())
        if len(parts) == 1:
            return parts[0]
        return lambda device: all(part(device) for part in parts)

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
            raise self.error("a device field (%s) or '('" % FIELD_NAMES, token)
        self.take()
        entry = FIELDS.get(token.value.lower())
        if entry is None:
            raise QueryError("unknown field '%s' at position %d; supported fields: %s"
                             % (token.value, token.pos, FIELD_NAMES), token.pos)
        name, kind, getter = entry
        operator = self.peek()
        if operator.kind != "op":
            raise self.error("'=' or '!=' after %s" % name, operator)
        if operator.value not in ("=", "!="):
            raise QueryError("unsupported operator '%s' at position %d; only = and != are supported"
                             % (operator.value, operator.pos), operator.pos)
        self.take()
        literal = self.take()
        if kind == BOOLEAN:
            if literal.kind not in ("true", "false"):
                raise self.error("true or false (%s is a boolean)" % name, literal)
            value = literal.kind == "true"
        elif literal.kind != "string":
            raise self.error("a quoted string (%s is a string)" % name, literal)
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
