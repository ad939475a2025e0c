"""The lexer and recursive-descent scaffolding shared by the two query languages.

:mod:`emulator.odata` (list ``filter``) and :mod:`emulator.groupquery` (device
group ``filter``) differ in their words, quoting and rules, not in how text is
cut into tokens or how errors point at a token. Each describes its tokens with a
:class:`Lexicon` and parses with a :class:`TokenParser` subclass that only adds
its own grammar rules; every error carries the 0-based character position of the
offending token.
"""

import re

BACKSLASH = "backslash"  # \x stands for x
DOUBLED = "doubled"  # '' stands for ' inside '...'


class Token:
    __slots__ = ("kind", "value", "pos", "text")

    def __init__(self, kind, value, pos, text):
        self.kind = kind
        self.value = value
        self.pos = pos
        self.text = text


class Lexicon:
    """How one language spells its tokens.

    ``word``: regex of identifiers/keywords, ``classify_word(raw) -> (kind, value)``.
    ``quotes``: characters that open a string, closed by the same one; ``escape``: BACKSLASH or DOUBLED.
    ``number``: regex, ``number_value(raw)`` its value. ``operators``: symbol tokens (kind ``op``),
    longest first. ``punctuation``: one-character tokens whose kind is the character.
    ``error``: exception class taking ``(message, position)``. ``end_text`` / ``string_label``: how
    messages name the end of the text and a string token.
    """

    def __init__(self, error, word, classify_word, quotes, escape, number, number_value, operators=(),
                 punctuation="", end_text="the end of the text", string_label="string"):
        self.error = error
        self.word = re.compile(word)
        self.classify_word = classify_word
        self.quotes = quotes
        self.escape = escape
        self.number = re.compile(number)
        self.number_value = number_value
        self.operators = tuple(operators)
        self.punctuation = punctuation
        self.end_text = end_text
        self.string_label = string_label

    def describe(self, token):
        if token.kind == "end":
            return self.end_text
        if token.kind == "string":
            return "%s %s" % (self.string_label, token.text)
        return "'%s'" % token.text

    def tokenize(self, text):
        """Tokens of ``text``, ending with an ``end`` token at ``len(text)``."""
        tokens = []
        pos = 0
        length = len(text)
        while True:
            while pos < length and text[pos].isspace():
                pos += 1
            if pos >= length:
                tokens.append(Token("end", None, pos, ""))
                return tokens
            token, pos = self._next(text, pos)
            tokens.append(token)

    def _next(self, text, pos):
        char = text[pos]
        word = self.word.match(text, pos)
        if word:
            kind, value = self.classify_word(word.group(0))
            return Token(kind, value, pos, word.group(0)), word.end()
        if char in self.quotes:
            value, end = self.read_string(text, pos)
            return Token("string", value, pos, text[pos:end]), end
        number = self.number.match(text, pos)
        if number:
            return Token("number", self.number_value(number.group(0)), pos, number.group(0)), number.end()
        operator = next((op for op in self.operators if text.startswith(op, pos)), None)
        if operator is not None:
            return Token("op", operator, pos, operator), pos + len(operator)
        if char in self.punctuation:
            return Token(char, char, pos, char), pos + 1
        raise self.error("unexpected character '%s' at position %d" % (char, pos), pos)

    def read_string(self, text, start):
        """(value, end) of the string literal opening at ``start``."""
        quote = text[start]
        chars = []
        pos = start + 1
        while pos < len(text):
            char = text[pos]
            if self.escape == BACKSLASH and char == "\\" and pos + 1 < len(text):
                chars.append(text[pos + 1])
                pos += 2
                continue
            if char == quote:
                if self.escape == DOUBLED and text.startswith(quote, pos + 1):
                    chars.append(quote)
                    pos += 2
                    continue
                return "".join(chars), pos + 1
            chars.append(char)
            pos += 1
        raise self.error("unterminated string literal starting at position %d" % start, start)


class TokenParser:
    """Token cursor, position-pointing errors and the ``or``/``and`` levels both languages share.

    Subclasses set ``lexicon`` and implement ``parse_primary()``; ``and`` binds tighter than ``or``
    and both compile to predicates ``item -> bool``.
    """

    lexicon = None

    def __init__(self, text):
        self.tokens = self.lexicon.tokenize(text)
        self.index = 0

    def peek(self, ahead=0):
        return self.tokens[self.index + ahead]

    def take(self):
        token = self.tokens[self.index]
        self.index += 1
        return token

    def describe(self, token):
        return self.lexicon.describe(token)

    def fail(self, message, position):
        return self.lexicon.error(message, position)

    def error(self, message, token):
        """``<message> but found <token> at position <n>``."""
        return self.fail("%s but found %s at position %d" % (message, self.describe(token), token.pos), token.pos)

    def expect(self, kind, what):
        token = self.peek()
        if token.kind != kind:
            raise self.error("expected %s" % what, token)
        return self.take()

    def parse_or(self):
        parts = [self.parse_and()]
        while self.peek().kind == "or":
            self.take()
            parts.append(self.parse_and())
        if len(parts) == 1:
            return parts[0]
        return lambda item: any(part(item) for part in parts)

    def parse_and(self):
        parts = [self.parse_primary()]
        while self.peek().kind == "and":
            self.take()
            parts.append(self.parse_primary())
        if len(parts) == 1:
            return parts[0]
        return lambda item: all(part(item) for part in parts)

    def parse_primary(self):
        raise NotImplementedError
