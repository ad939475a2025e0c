"""The small OData subset IoT Central documents for list filtering and ordering.

Grammar (keywords and field names are case-insensitive, ``and`` binds tighter
than ``or``)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := primary ("and" primary)*
    primary    := "(" expr ")"
                | contains [cmp (number | true | false)]
                | field cmp literal
    contains   := "contains" "(" field "," string ")"
    cmp        := eq | ne | lt | le | gt | ge
    literal    := 'string' ('' escapes a quote) | true | false | null

``contains(f, 'x')`` alone is a boolean (2022-10-31-preview how-to). Compared
with a number it is the position of ``x`` in ``f`` or -1, which is what the
2022-07-31 how-to's ``contains(displayName, 'x') ge 0`` relies on. Matching is
case-sensitive, like the service's document store. A list field (``scopes``)
matches ``eq`` when any element matches and ``ne`` when none does.

Errors raise :class:`ODataError` with the 0-based character position of the
offending token.
"""

from .lexer import DOUBLED, Lexicon, TokenParser

COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")
STRING = "string"
BOOLEAN = "boolean"
STRING_LIST = "string_list"


class ODataError(ValueError):
    def __init__(self, message, position=None):
        super().__init__(message)
        self.position = position


class Field:
    __slots__ = ("name", "kind", "getter")

    def __init__(self, name, kind, getter):
        self.name = name
        self.kind = kind
        self.getter = getter


def fields_by_name(fields):
    return {field.name.lower(): field for field in fields}


def _classify(raw):
    lowered = raw.lower()
    if lowered in ("and", "or"):
        return lowered, lowered
    if lowered in COMPARISONS:
        return "cmp", lowered
    if lowered in ("true", "false"):
        return "bool", lowered == "true"
    if lowered == "null":
        return "null", None
    return "ident", raw


# A field name may start with "@": the device template list filters on "@id".
LEXICON = Lexicon(ODataError, word=r"@?[A-Za-z_][A-Za-z0-9_]*", classify_word=_classify, quotes="'", escape=DOUBLED,
                  number=r"-?\d+", number_value=int, punctuation="(),", end_text="end of expression",
                  string_label="string")


def tokenize(text):
    return LEXICON.tokenize(text)


class _Parser(TokenParser):
    lexicon = LEXICON

    def __init__(self, text, fields):
        super().__init__(text)
        self.fields = fields

    def parse(self):
        if self.peek().kind == "end":
            raise ODataError("the filter expression is empty", 0)
        node = self.parse_or()
        token = self.peek()
        if token.kind != "end":
            raise self.error("expected 'and', 'or' or the end of the expression", token)
        return node

    def parse_primary(self):
        token = self.peek()
        if token.kind == "(":
            self.take()
            node = self.parse_or()
            self.expect(")", "')'")
            return node
        if token.kind != "ident":
            raise self.error("expected a field name, 'contains(...)' or '('", token)
        if self.peek(1).kind == "(":
            return self.parse_function()
        field = self.field(self.take())
        op_token = self.peek()
        if op_token.kind != "cmp":
            raise self.error("expected a comparison operator (%s) after '%s'" % (", ".join(COMPARISONS), field.name),
                             op_token)
        self.take()
        literal = self.take_literal(field)
        predicate = self.comparison(field, op_token.value, literal)
        if field.name == "id" and op_token.value in ("lt", "le", "gt", "ge") and isinstance(literal, str):
            predicate.id_range = _id_range(op_token.value, literal)
        return predicate

    def parse_and(self):
        """An ``and`` of terms; carries ``id_range`` (the id bounds every match lies within) when terms bound the id,
        so paging can seek to the range instead of testing every id of the collection."""
        parts = [self.parse_primary()]
        while self.peek().kind == "and":
            self.take()
            parts.append(self.parse_primary())
        if len(parts) == 1:
            return parts[0]
        bounds = [part.id_range for part in parts if getattr(part, "id_range", None)]

        def predicate(item):
            return all(part(item) for part in parts)

        if bounds:
            predicate.id_range = _narrowest(bounds)
        return predicate

    def field(self, token):
        field = self.fields.get(token.value.lower())
        if field is None:
            names = ", ".join(f.name for f in self.fields.values())
            raise ODataError("unknown field '%s' at position %d; filterable fields are: %s"
                             % (token.value, token.pos, names), token.pos)
        return field

    def take_literal(self, field):
        token = self.take()
        if token.kind == "null":
            return None
        if field.kind in (STRING, STRING_LIST):
            if token.kind != "string":
                raise self.error("field '%s' is a string: expected a quoted string literal" % field.name, token)
            return token.value
        if token.kind != "bool":
            raise self.error("field '%s' is a boolean: expected true or false" % field.name, token)
        return token.value

    def comparison(self, field, op, literal):
        getter = field.getter
        compare = _COMPARATORS[op]
        if field.kind == STRING_LIST:
            if literal is None:
                if op in ("eq", "ne"):
                    want_empty = op == "eq"
                    return lambda item: (not getter(item)) == want_empty
                raise ODataError("'%s' with null is not supported for field '%s'" % (op, field.name))
            if op == "ne":
                return lambda item: all(value != literal for value in (getter(item) or ()))
            return lambda item: any(compare(value, literal) for value in (getter(item) or ()))
        if literal is None:
            if op == "eq":
                return lambda item: getter(item) is None
            if op == "ne":
                return lambda item: getter(item) is not None
            raise ODataError("'%s' with null is not supported for field '%s'" % (op, field.name))

        def evaluate(item):
            value = getter(item)
            if value is None:
                return op == "ne"
            return compare(value, literal)

        return evaluate

    def parse_function(self):
        name_token = self.take()
        if name_token.value.lower() != "contains":
            raise ODataError("unsupported function '%s' at position %d; the only supported function is contains"
                             % (name_token.value, name_token.pos), name_token.pos)
        self.expect("(", "'('")
        field_token = self.expect("ident", "a field name")
        field = self.field(field_token)
        if field.kind == BOOLEAN:
            raise ODataError("contains() needs a string field but '%s' (position %d) is a boolean"
                             % (field.name, field_token.pos), field_token.pos)
        self.expect(",", "','")
        needle = self.expect("string", "a quoted string literal").value
        self.expect(")", "')'")
        getter = field.getter
        if field.kind == STRING_LIST:
            def position(item):
                for value in getter(item) or ():
                    index = value.find(needle)
                    if index >= 0:
                        return index
                return -1
        else:
            def position(item):
                value = getter(item)
                return -1 if value is None else value.find(needle)
        if self.peek().kind != "cmp":
            return lambda item: position(item) >= 0
        op = self.take().value
        compare = _COMPARATORS[op]
        token = self.take()
        if token.kind == "number":
            number = token.value
            return lambda item: compare(position(item), number)
        if token.kind == "bool" and op in ("eq", "ne"):
            want = token.value if op == "eq" else not token.value
            return lambda item: (position(item) >= 0) == want
        raise self.error("contains() can be compared with an integer (or eq/ne true/false)", token)


_COMPARATORS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def _id_range(op, literal):
    """``(low, low_inclusive, high, high_inclusive)`` for one id comparison (None: unbounded)."""
    if op in ("gt", "ge"):
        return (literal, op == "ge", None, False)
    return (None, False, literal, op == "le")


def _narrowest(ranges):
    low, low_inclusive, high, high_inclusive = None, False, None, False
    for r_low, r_low_inclusive, r_high, r_high_inclusive in ranges:
        if r_low is not None and (low is None or r_low > low or (r_low == low and not r_low_inclusive)):
            low, low_inclusive = r_low, r_low_inclusive
        if r_high is not None and (high is None or r_high < high or (r_high == high and not r_high_inclusive)):
            high, high_inclusive = r_high, r_high_inclusive
    return (low, low_inclusive, high, high_inclusive)


def parse_filter(text, fields):
    """Compile ``text`` into a predicate over items. ``fields`` maps lower-case names to :class:`Field`."""
    return _Parser(text, fields).parse()


def parse_orderby(text, sortable):
    """Parse ``<field> [asc|desc]``; ``sortable`` maps lower-case names to canonical names.

    Returns ``(canonical_name, descending)``.
    """
    parts = text.split()
    if not parts or len(parts) > 2:
        raise ODataError("orderby must be '<field>' or '<field> asc|desc'; supported fields: %s"
                         % ", ".join(sorted(sortable.values())))
    name = sortable.get(parts[0].lower())
    if name is None:
        position = text.index(parts[0])
        raise ODataError("cannot order by '%s' (position %d); supported fields: %s"
                         % (parts[0], position, ", ".join(sorted(sortable.values()))), position)
    descending = False
    if len(parts) == 2:
        direction = parts[1].lower()
        if direction not in ("asc", "desc"):
            position = text.rindex(parts[1])
            raise ODataError("expected 'asc' or 'desc' but found '%s' at position %d" % (parts[1], position), position)
        descending = direction == "desc"
    return name, descending
