# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small HCL (native syntax) parser that keeps the character span of everything it reads.

Pure Python, no Ansible imports. It exists so backend settings can be edited by splicing the
original text: the tree records where each attribute, block, object item and value starts and
ends, and comments are kept in a side list. It is strict (a file it accepts is syntactically
valid HCL 2, interpolations included), with two opt-in tolerances:

- ``hcl1=True`` accepts HCL 1 nested blocks inside objects (``terragrunt = { remote_state { } }``,
  the old Terragrunt ``.tfvars`` form);
- ``template=True`` parses the body of a heredoc that Terragrunt renders (``generate`` contents):
  a ``${...}`` where a value belongs is an opaque expression, and a ``%{`` directive raises
  :class:`TemplateDirective`.

Offsets are indexes into the text (``str``), lines are 1-based.
"""

import bisect
import re
from collections import namedtuple


class HclSyntaxError(ValueError):
    """Text that is not valid HCL; ``offset`` is where the parser gave up."""

    def __init__(self, message, offset):
        super().__init__(message)
        self.message = message
        self.offset = offset


# Typographic quotes, as word processors and chat tools write them; terraform refuses them ("Invalid character").
TYPOGRAPHIC_QUOTES = u"\u201c\u201d\u201e\u201f\u2018\u2019\u201a\u201b\u00ab\u00bb"


def unexpected_character(char):
    """The reason for a character no token starts with; a typographic quote says what terraform wants instead."""
    if char in TYPOGRAPHIC_QUOTES:
        return ("typographic quote %r where a straight quote (\") must be: terraform rejects the file "
                "(\"Invalid character\")" % char)
    if char == "'":
        return "single quote where a double quote (\") must be: terraform rejects the file (\"Invalid character\")"
    return "unexpected character %r" % char


class TemplateDirective(HclSyntaxError):
    """A ``%{ ... }`` template directive, or ``{{``, where HCL code belongs: the text is a template."""


class LineIndex:
    """Offset <-> line arithmetic for one text."""

    def __init__(self, text):
        self.text = text
        self.starts = [0]
        find = text.find
        pos = find("\n")
        while pos != -1:
            self.starts.append(pos + 1)
            pos = find("\n", pos + 1)

    @property
    def count(self):
        return len(self.starts)

    def line_of(self, offset):
        return bisect.bisect_right(self.starts, offset)

    def start(self, line):
        return self.starts[line - 1]

    def next_start(self, line):
        """Offset just after the line's newline (the text's length on the last line)."""
        return self.starts[line] if line < len(self.starts) else len(self.text)

    def content_end(self, line):
        """Offset of the line's end, before ``\\r\\n`` or ``\\n``."""
        end = self.next_start(line)
        if end > self.start(line) and self.text[end - 1] == "\n":
            end -= 1
            if end > self.start(line) and self.text[end - 1] == "\r":
                end -= 1
        return end

    def newline(self, line):
        """The line's own line ending: ``\\r\\n``, ``\\n`` or ``""`` on a last line without one."""
        return self.text[self.content_end(line):self.next_start(line)]


# Token kinds.
IDENT = "ident"
NUMBER = "number"
STRING = "string"
HEREDOC = "heredoc"
OP = "op"
NEWLINE = "nl"
INTERP = "interp"
EOF = "eof"


# Where a heredoc's content lies: text[start:end], and whether it is the indented ``<<-`` form.
HeredocBody = namedtuple("HeredocBody", ("start", "end", "indented"))


class Token:
    __slots__ = ("kind", "start", "end", "text", "value", "parts", "heredoc")

    def __init__(self, kind, start, end, text, value=None, parts=None, heredoc=None):
        self.kind = kind
        self.start = start
        self.end = end
        self.text = text      # HEREDOC: the marker (EOF)
        # STRING/HEREDOC: the literal value when there is no interpolation, else None.
        self.value = value
        # STRING/HEREDOC/INTERP: [(kind, tokens, offset)] for each ${...} and %{...} inside.
        self.parts = parts
        # HEREDOC: a HeredocBody, for parsing what a Terragrunt generate block renders.
        self.heredoc = heredoc

    def __repr__(self):
        return "Token(%s, %r, %d-%d)" % (self.kind, self.text, self.start, self.end)


class Comment:
    __slots__ = ("start", "end", "block")

    def __init__(self, start, end, block):
        self.start = start
        self.end = end
        self.block = block


_TOKEN = re.compile(r"""
    (?P<ws>[ \t\f\v\r]+)
  | (?P<nl>\n)
  | (?P<lcomment>(?:\#|//)[^\n]*)
  | (?P<bcomment>/\*)
  | (?P<ident>[^\W\d][\w-]*)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>")
  | (?P<heredoc><<-?(?=[^\W\d]))
  | (?P<interp>[$%]\{)
  | (?P<op>==|!=|<=|>=|&&|\|\||=>|\.\.\.|::|[{}\[\]()=:,.?!+\-*/%<>~])
""", re.VERBOSE | re.UNICODE)

# A quoted string with no interpolation, directive or escape that needs more than a lookup.
_SIMPLE_STRING = re.compile(r'"((?:[^"\\\n$%]|\\[nrt"\\]|\$(?![{$])|%(?![{%]))*)"')
_STRING_CHUNK = re.compile(r'[^"\\\n$%]+')
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_HEREDOC_HEAD = re.compile(r"<<(-?)([^\W\d][\w-]*)[ \t]*\r?\n", re.UNICODE)


def _unescape_simple(body):
    if "\\" not in body:
        return body
    return re.sub(r"\\(.)", lambda m: _ESCAPES[m.group(1)], body)


class Tokenizer:
    """Turns text[start:end] into tokens; comments go to ``self.comments``."""

    def __init__(self, text, start=0, end=None, template=False):
        self.text = text
        self.start = start
        self.end = len(text) if end is None else end
        self.template = template
        self.comments = []

    def tokenize(self):
        tokens, pos = self._scan(self.start, None)
        tokens.append(Token(EOF, pos, pos, ""))
        return tokens

    def _scan(self, pos, closing):
        """Tokens from ``pos`` up to the end, or up to the ``}`` that closes an interpolation.

        Returns ``(tokens, offset after the closing brace or the end)``.
        """
        text, end = self.text, self.end
        tokens = []
        append = tokens.append
        depth = 0
        match = _TOKEN.match
        while pos < end:
            m = match(text, pos, end)
            if m is None:
                raise HclSyntaxError(unexpected_character(text[pos]), pos)
            kind = m.lastgroup
            mend = m.end()
            if kind == "ws":
                pos = mend
                continue
            if kind == "nl":
                append(Token(NEWLINE, pos, mend, "\n"))
            elif kind == "lcomment" or kind == "bcomment":
                mend = self._comment(kind, pos, mend)
            elif kind == "ident":
                append(Token(IDENT, pos, mend, m.group()))
            elif kind == "number":
                append(Token(NUMBER, pos, mend, m.group()))
            elif kind == "string":
                token = self._string(pos)
                mend = token.end
                append(token)
            elif kind == "heredoc":
                token = self._heredoc(pos)
                mend = token.end
                append(token)
            elif kind == "interp":
                token = self._interpolation(m.group(), pos, mend, closing)
                mend = token.end
                append(token)
            else:
                op = m.group()
                if op == "{":
                    if text.startswith("{{", pos):  # never valid HCL: a Go or Jinja template
                        raise TemplateDirective("template placeholder {{ where HCL code belongs", pos)
                    depth += 1
                elif op == "}" and closing is not None:
                    if depth == 0:
                        return tokens, mend
                    depth -= 1
                elif op == "~" and closing is not None and text.startswith("}", mend):
                    pos = mend  # a strip marker before the closing brace
                    continue
                append(Token(OP, pos, mend, op))
            pos = mend
        if closing is not None:
            raise HclSyntaxError("unterminated interpolation", pos)
        return tokens, pos

    def _comment(self, kind, pos, mend):
        """Record a ``#``/``//`` (lcomment) or ``/* */`` (bcomment) comment; returns the offset after it."""
        text = self.text
        if kind == "lcomment":
            self.comments.append(Comment(pos, mend - 1 if text[mend - 1] == "\r" else mend, False))
            return mend
        close = text.find("*/", mend, self.end)
        if close == -1:
            raise HclSyntaxError("unterminated /* comment", pos)
        self.comments.append(Comment(pos, close + 2, True))
        return close + 2

    def _interpolation(self, opener, pos, mend, closing):
        """The INTERP token of a bare ``${...}`` (Terragrunt generate contents only)."""
        if opener == "%{" or not self.template or closing is not None:
            if opener == "%{":
                raise TemplateDirective("template directive outside a string", pos)
            raise HclSyntaxError("interpolation ${ outside a string", pos)
        inner, mend = self._scan(self._skip_strip(mend), "}")
        return Token(INTERP, pos, mend, self.text[pos:mend], parts=[("${", inner, pos)])

    def _skip_strip(self, pos):
        return pos + 1 if self.text.startswith("~", pos) else pos

    def _string(self, start):
        text, end = self.text, self.end
        m = _SIMPLE_STRING.match(text, start, end)
        if m is not None:
            return Token(STRING, start, m.end(), m.group(), value=_unescape_simple(m.group(1)))
        pos = start + 1
        chars = []
        parts = []
        while True:
            if pos >= end or text[pos] == "\n":
                raise HclSyntaxError("unterminated string", start)
            c = text[pos]
            if c == '"':
                pos += 1
                break
            if c == "\\":
                pos = self._escape(pos, chars)
                continue
            if c in "$%" and text.startswith("{", pos + 1):
                pos = self._template_part(pos, parts)
                continue
            if c in "$%" and text.startswith(c + "{", pos + 1):
                chars.append(c + "{")  # $${ and %%{ are the escapes for a literal ${ and %{
                pos += 3
                continue
            m = _STRING_CHUNK.match(text, pos, end)
            if m is None:
                chars.append(c)
                pos += 1
            else:
                chars.append(m.group())
                pos = m.end()
        value = None if parts else "".join(chars)
        return Token(STRING, start, pos, text[start:pos], value=value, parts=parts or None)

    def _escape(self, pos, chars):
        text = self.text
        c = text[pos + 1:pos + 2]
        if c in _ESCAPES:
            chars.append(_ESCAPES[c])
            return pos + 2
        for letter, width in (("u", 4), ("U", 8)):
            if c == letter:
                digits = text[pos + 2:pos + 2 + width]
                if len(digits) == width and all(d in "0123456789abcdefABCDEF" for d in digits):
                    chars.append(chr(int(digits, 16)))
                    return pos + 2 + width
        raise HclSyntaxError("invalid escape sequence \\%s in a string" % c, pos)

    def _template_part(self, pos, parts):
        """Scan a ``${...}`` or ``%{...}`` that starts at pos; returns the offset after it."""
        kind = self.text[pos:pos + 2]
        inner, after = self._scan(self._skip_strip(pos + 2), "}")
        parts.append((kind, inner, pos))
        return after

    def _heredoc(self, start):
        text, end = self.text, self.end
        m = _HEREDOC_HEAD.match(text, start, end)
        if m is None:
            raise HclSyntaxError("a heredoc marker must be followed by a newline", start)
        marker = m.group(2)
        content_start = m.end()
        closing = re.compile(r"^[ \t]*" + re.escape(marker) + r"[ \t]*\r?$", re.MULTILINE)
        found = closing.search(text, content_start, end)
        if found is None:
            raise HclSyntaxError("heredoc %s is never closed" % marker, start)
        content_end = found.start()
        parts = []
        chars = []
        pos = content_start
        while pos < content_end:
            nxt = pos
            while nxt < content_end and text[nxt] not in "$%":
                nxt += 1
            chars.append(text[pos:nxt])
            pos = nxt
            if pos >= content_end:
                break
            c = text[pos]
            if text.startswith(c + c + "{", pos):
                chars.append(c + "{")
                pos += 3
            elif text.startswith("{", pos + 1):
                pos = self._template_part(pos, parts)
                if pos > content_end:
                    raise HclSyntaxError("an interpolation runs past the end of heredoc %s" % marker, pos)
            else:
                chars.append(c)
                pos += 1
        return Token(HEREDOC, start, found.end(), marker, value=None if parts else "".join(chars),
                     parts=parts or None, heredoc=HeredocBody(content_start, content_end, m.group(1) == "-"))


class Expr:
    """An expression: ``kind`` is literal, string, template, heredoc, object, tuple or expr."""
    __slots__ = ("kind", "start", "end", "value", "items", "token")

    def __init__(self, kind, start, end, value=None, items=None, token=None):
        self.kind = kind
        self.start = start
        self.end = end
        self.value = value
        self.items = items
        self.token = token

    @property
    def is_literal(self):
        """True when the value is known without evaluation (strings without interpolation, numbers...)."""
        if self.kind in ("literal", "string"):
            return True
        if self.kind == "object":
            return all(item.name is not None and item.value.is_literal for item in self.items)
        if self.kind == "tuple":
            return all(item.is_literal for item in self.items)
        return False

    def python_value(self):
        if self.kind == "object":
            return {item.name: item.value.python_value() for item in self.items}
        if self.kind == "tuple":
            return [item.python_value() for item in self.items]
        return self.value


class Item:
    """An attribute of a body, or an item of an object constructor (``name = value``)."""
    __slots__ = ("name", "start", "name_end", "sep", "value", "end", "block")

    def __init__(self, name, start, name_end, sep, value, block=False):
        self.name = name          # None for a key that is an expression
        self.start = start
        self.name_end = name_end
        self.sep = sep            # "=" or ":", None for an HCL 1 nested block in an object
        self.value = value
        self.end = value.end
        self.block = block


class Block:
    __slots__ = ("type", "labels", "start", "open", "body", "end")

    def __init__(self, type_, labels, start, open_, body, end):
        self.type = type_
        self.labels = labels      # label strings
        self.start = start
        self.open = open_         # offset of "{"
        self.body = body
        self.end = end            # offset after "}"


class Body:
    """A block body (or a whole file): attributes and blocks in order."""
    __slots__ = ("items", "start", "end")

    def __init__(self, items, start, end):
        self.items = items
        self.start = start
        self.end = end

    def attributes(self):
        return [item for item in self.items if isinstance(item, Item)]

    def blocks(self, type_=None):
        return [item for item in self.items if isinstance(item, Block) and (type_ is None or item.type == type_)]

    def attribute(self, name):
        for item in self.items:
            if isinstance(item, Item) and item.name == name:
                return item
        return None


_BINARY = {
    "||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, ">": 4, "<=": 4, ">=": 4,
    "+": 5, "-": 5, "*": 6, "/": 6, "%": 6,
}
_KEYWORDS = {"true": True, "false": False, "null": None}


class Parser:
    """Recursive descent over the tokens; builds Body/Block/Item/Expr nodes with spans."""

    def __init__(self, tokens, hcl1=False, template=False):
        self.tokens = tokens
        self.pos = 0
        self.hcl1 = hcl1
        self.template = template
        self.newlines = [True]  # whether newlines are significant, innermost last

    # -- token access -------------------------------------------------------------------------
    def peek(self):
        tok = self.tokens[self.pos]
        if tok.kind == NEWLINE and not self.newlines[-1]:
            while tok.kind == NEWLINE:
                self.pos += 1
                tok = self.tokens[self.pos]
        return tok

    def next(self):
        tok = self.peek()
        if tok.kind != EOF:
            self.pos += 1
        return tok

    def skip_newlines(self):
        while self.tokens[self.pos].kind == NEWLINE:
            self.pos += 1

    def expect_op(self, op, what):
        tok = self.next()
        if tok.kind != OP or tok.text != op:
            raise self.error(tok, "expected %s" % what)
        return tok

    def error(self, tok, message):
        found = "end of file" if tok.kind == EOF else ("newline" if tok.kind == NEWLINE else repr(tok.text))
        return HclSyntaxError("%s, found %s" % (message, found), tok.start)

    @staticmethod
    def is_op(tok, op):
        return tok.kind == OP and tok.text == op

    # -- bodies ---------------------------------------------------------------------------------
    def parse_file(self):
        body = self.parse_body(top=True)
        tok = self.peek()
        if tok.kind != EOF:
            raise self.error(tok, "expected an attribute or a block")
        return body

    def parse_body(self, top=False, start=0):
        items = []
        seen = {}
        while True:
            self.skip_newlines()
            tok = self.peek()
            if tok.kind == EOF or (not top and self.is_op(tok, "}")):
                return Body(items, start, tok.start)
            item = self.parse_body_item()
            if isinstance(item, Item):
                if item.name in seen:
                    raise HclSyntaxError("attribute %r is defined twice" % item.name, item.start)
                seen[item.name] = item
            items.append(item)
            tok = self.peek()
            if tok.kind == NEWLINE:
                self.pos += 1
            elif not (tok.kind == EOF or (not top and self.is_op(tok, "}"))):
                what = "the attribute" if isinstance(item, Item) else "the block"
                raise self.error(tok, "expected a newline after %s" % what)

    def parse_body_item(self):
        tok = self.next()
        if tok.kind != IDENT:
            raise self.error(tok, "expected an attribute name or a block type")
        nxt = self.peek()
        if self.is_op(nxt, "="):
            self.pos += 1
            value = self.parse_expression()
            return Item(tok.text, tok.start, tok.end, "=", value)
        labels = []
        while nxt.kind in (IDENT, STRING):
            if nxt.kind == STRING and nxt.value is None:
                raise self.error(nxt, "a block label cannot hold an interpolation")
            labels.append(nxt.text if nxt.kind == IDENT else nxt.value)
            self.pos += 1
            nxt = self.peek()
        if not self.is_op(nxt, "{"):
            raise self.error(nxt, "expected = or { after %r" % tok.text)
        self.pos += 1
        body = self.parse_block_body(nxt.end)
        close = self.next()
        if close.kind == EOF:
            raise HclSyntaxError("the block %r opened here is never closed" % " ".join([tok.text] + labels), tok.start)
        if not self.is_op(close, "}"):
            raise self.error(close, "expected } to close the block %r" % tok.text)
        return Block(tok.text, labels, tok.start, nxt.start, body, close.end)

    def parse_block_body(self, start):
        tok = self.tokens[self.pos]
        if tok.kind == NEWLINE:
            return self.parse_body(start=start)
        # a single-line block holds at most one attribute: name { attr = value }
        if self.is_op(tok, "}"):
            return Body([], start, tok.start)
        item = self.parse_body_item()
        if not isinstance(item, Item):
            raise HclSyntaxError("a single-line block can hold only one attribute", item.start)
        tok = self.peek()
        if not self.is_op(tok, "}"):
            raise self.error(tok, "a single-line block can hold only one attribute; expected }")
        return Body([item], start, tok.start)

    # -- expressions ----------------------------------------------------------------------------
    def parse_expression(self):
        cond = self.parse_binary(1)
        tok = self.peek()
        if self.is_op(tok, "?"):
            self.pos += 1
            self.parse_expression()
            self.expect_op(":", ": in the conditional expression")
            other = self.parse_expression()
            return Expr("expr", cond.start, other.end)
        return cond

    def parse_binary(self, min_prec):
        left = self.parse_unary()
        while True:
            tok = self.peek()
            prec = _BINARY.get(tok.text) if tok.kind == OP else None
            if prec is None or prec < min_prec:
                return left
            self.pos += 1
            right = self.parse_binary(prec + 1)
            left = Expr("expr", left.start, right.end)

    def parse_unary(self):
        tok = self.peek()
        if tok.kind == OP and tok.text in ("!", "-"):
            self.pos += 1
            operand = self.parse_unary()
            if tok.text == "-" and operand.kind == "literal" and isinstance(operand.value, (int, float)) \
                    and not isinstance(operand.value, bool):
                return Expr("literal", tok.start, operand.end, value=-operand.value)
            return Expr("expr", tok.start, operand.end)
        return self.parse_postfix(self.parse_primary())

    def parse_postfix(self, expr):
        attr_splat = False  # after .*, only attribute and legacy index steps may follow until the next [
        while True:
            tok = self.tokens[self.pos]  # a traversal never continues on the next line
            if self.is_op(tok, "."):
                self.pos += 1
                nxt = self.next()
                if self.is_op(nxt, "*"):
                    if attr_splat:
                        raise self.error(nxt, "a splat .* cannot follow another .* (use [*])")
                    attr_splat = True
                elif nxt.kind == NUMBER:
                    if "." in nxt.text:  # foo.0.1 scans as the number 0.1
                        raise self.error(nxt, "legacy indexes cannot be chained; write [%s]" % "][".join(
                            nxt.text.split(".")))
                elif nxt.kind != IDENT:
                    raise self.error(nxt, "expected an attribute name after .")
                expr = Expr("expr", expr.start, nxt.end)
            elif self.is_op(tok, "["):
                attr_splat = False
                self.pos += 1
                self.newlines.append(False)
                nxt = self.peek()
                if self.is_op(nxt, "*"):
                    self.pos += 1
                else:
                    self.parse_expression()
                close = self.expect_op("]", "] to close the index")
                self.newlines.pop()
                expr = Expr("expr", expr.start, close.end)
            else:
                return expr

    def parse_primary(self):
        tok = self.next()
        kind = tok.kind
        if kind == NUMBER:
            text = tok.text
            value = float(text) if ("." in text or "e" in text or "E" in text) else int(text)
            return Expr("literal", tok.start, tok.end, value=value)
        if kind == STRING:
            self.check_parts(tok)
            if tok.value is None:
                return Expr("template", tok.start, tok.end, token=tok)
            return Expr("string", tok.start, tok.end, value=tok.value, token=tok)
        if kind == HEREDOC:
            self.check_parts(tok)
            return Expr("heredoc", tok.start, tok.end, token=tok)
        if kind == INTERP:
            self.check_parts(tok)
            return Expr("expr", tok.start, tok.end, token=tok)
        if kind == IDENT:
            if tok.text in _KEYWORDS:
                return Expr("literal", tok.start, tok.end, value=_KEYWORDS[tok.text])
            nxt = self.tokens[self.pos]
            while self.is_op(nxt, "::"):  # provider::name::function
                self.pos += 1
                name = self.next()
                if name.kind != IDENT:
                    raise self.error(name, "expected a function name after ::")
                nxt = self.tokens[self.pos]
                if not self.is_op(nxt, "::") and not self.is_op(nxt, "("):
                    raise self.error(nxt, "expected ( after a provider function name")
            if self.is_op(nxt, "("):
                return self.parse_call(tok)
            return Expr("expr", tok.start, tok.end)
        if kind == OP:
            if tok.text == "(":
                self.newlines.append(False)
                inner = self.parse_expression()
                close = self.expect_op(")", ") to close the parenthesis")
                self.newlines.pop()
                return Expr("expr", tok.start, close.end, token=inner)
            if tok.text == "[":
                return self.parse_tuple(tok)
            if tok.text == "{":
                return self.parse_object(tok)
        raise self.error(tok, "expected an expression")

    def check_parts(self, tok):
        """Validate each interpolation and directive of a template, and how the directives nest."""
        open_directives = []  # [word, offset] of each %{ if } / %{ for } not closed yet
        for kind, tokens, offset in tok.parts or ():
            sub = Parser(tokens + [Token(EOF, tok.end, tok.end, "")], hcl1=self.hcl1)
            sub.newlines = [False]
            if kind == "%{":
                _nest_directive(open_directives, sub.parse_directive(offset), offset)
            else:
                sub.parse_expression()
            rest = sub.peek()
            if rest.kind != EOF:
                raise sub.error(rest, "unexpected text in the interpolation")
        if open_directives:
            word, offset = open_directives[-1]
            raise HclSyntaxError("%%{ %s } is never closed by %%{ end%s }" % (word, word), offset)

    def parse_directive(self, offset):
        """Parse the inside of a %{ ... } directive; returns its word (if, else, endif, for, endfor)."""
        word = self.next()
        if word.kind != IDENT or word.text not in ("if", "else", "endif", "for", "endfor"):
            raise HclSyntaxError("unknown template directive", offset)
        if word.text == "if":
            self.parse_expression()
        elif word.text == "for":
            self.parse_for_head()
        return word.text

    def parse_call(self, name):
        self.pos += 1  # (
        self.newlines.append(False)
        tok = self.peek()
        while not self.is_op(tok, ")"):
            self.parse_expression()
            tok = self.peek()
            if self.is_op(tok, ","):
                self.pos += 1
                tok = self.peek()
            elif self.is_op(tok, "..."):
                self.pos += 1
                tok = self.peek()
            elif not self.is_op(tok, ")"):
                raise self.error(tok, "expected , or ) in the arguments of %s()" % name.text)
        self.pos += 1
        self.newlines.pop()
        return Expr("expr", name.start, tok.end)

    def parse_for_head(self):
        first = self.next()
        if first.kind != IDENT:
            raise self.error(first, "expected a variable name after for")
        tok = self.peek()
        if self.is_op(tok, ","):
            self.pos += 1
            second = self.next()
            if second.kind != IDENT:
                raise self.error(second, "expected a second variable name")
        word = self.next()
        if word.kind != IDENT or word.text != "in":
            raise self.error(word, "expected in")
        self.parse_expression()

    def parse_for(self, open_tok, closing, is_object):
        self.pos += 1  # for
        self.parse_for_head()
        self.expect_op(":", ": in the for expression")
        self.parse_expression()
        if is_object:
            self.expect_op("=>", "=> in the for expression")
            self.parse_expression()
            if self.is_op(self.peek(), "..."):
                self.pos += 1
        tok = self.peek()
        if tok.kind == IDENT and tok.text == "if":
            self.pos += 1
            self.parse_expression()
        close = self.expect_op(closing, "%s to close the for expression" % closing)
        return Expr("expr", open_tok.start, close.end)

    def parse_tuple(self, open_tok):
        self.newlines.append(False)
        tok = self.peek()
        if tok.kind == IDENT and tok.text == "for":
            expr = self.parse_for(open_tok, "]", False)
            self.newlines.pop()
            return expr
        elements = []
        while not self.is_op(tok, "]"):
            elements.append(self.parse_expression())
            tok = self.peek()
            if self.is_op(tok, ","):
                self.pos += 1
                tok = self.peek()
            elif not self.is_op(tok, "]"):
                raise self.error(tok, "expected , or ] in the list")
        self.pos += 1
        self.newlines.pop()
        return Expr("tuple", open_tok.start, tok.end, items=elements)

    def parse_object(self, open_tok):
        self.newlines.append(False)
        tok = self.peek()
        if tok.kind == IDENT and tok.text == "for":
            expr = self.parse_for(open_tok, "}", True)
            self.newlines.pop()
            return expr
        self.newlines[-1] = True
        items = []
        while True:
            self.skip_newlines()
            tok = self.peek()
            if self.is_op(tok, "}"):
                break
            items.append(self.parse_object_item())
            tok = self.peek()
            if self.is_op(tok, ","):
                self.pos += 1
            elif tok.kind == NEWLINE:
                self.pos += 1
            elif not self.is_op(tok, "}"):
                raise self.error(tok, "expected a newline, , or } after the object item")
        self.pos += 1
        self.newlines.pop()
        return Expr("object", open_tok.start, tok.end, items=items)

    def parse_object_item(self):
        """``key = value`` (or ``key: value``) of an object constructor.

        A key is any expression. A bare identifier or a quoted string without interpolation is a
        literal name (``Item.name``); every other key (``aws.child``, ``var.x[0]``, ``(var.k)``,
        ``"${var.k}"``, ``upper("k")``) is an expression and gets ``Item.name`` None.
        """
        tok = self.peek()
        sep = self.tokens[self.pos + 1] if tok.kind != EOF else tok
        literal = tok.kind == IDENT or (tok.kind == STRING and tok.value is not None)
        hcl1_block = self.hcl1 and literal and (self.is_op(sep, "{") or sep.kind == STRING)
        if literal and (hcl1_block or (sep.kind == OP and sep.text in ("=", ":"))):
            self.pos += 1
            name = tok.text if tok.kind == IDENT else tok.value
            key_start, key_end = tok.start, tok.end
        else:
            key = self.parse_expression()
            name, key_start, key_end = None, key.start, key.end
        sep = self.peek()
        if hcl1_block:
            # HCL 1: `name "label" { ... }` is a nested object inside an object
            while sep.kind == STRING:
                self.pos += 1
                sep = self.peek()
            if not self.is_op(sep, "{"):
                raise self.error(sep, "expected { after the block labels")
            self.pos += 1
            value = self.parse_object(sep)
            return Item(name, key_start, key_end, None, value, block=True)
        if not (sep.kind == OP and sep.text in ("=", ":")):
            raise self.error(sep, "expected = or : after the object key")
        self.pos += 1
        value = self.parse_expression()
        return Item(name, key_start, key_end, sep.text, value)


def _nest_directive(open_directives, word, offset):
    """Track %{ if }/%{ else }/%{ endif } and %{ for }/%{ endfor } nesting, as HCL checks it."""
    if word in ("if", "for"):
        open_directives.append([word, offset])
        return
    top = open_directives[-1][0] if open_directives else None
    if word == "else":
        if top != "if":
            raise HclSyntaxError("%{ else } without an open %{ if }" if top != "if-else"
                                 else "a second %{ else } in one %{ if }", offset)
        open_directives[-1][0] = "if-else"
        return
    opener = "for" if word == "endfor" else "if"
    if top is None or top.split("-")[0] != opener:
        raise HclSyntaxError("%%{ %s } without an open %%{ %s }" % (word, opener), offset)
    open_directives.pop()


class HclFile:
    """A parsed text: its body, comments and line index."""

    def __init__(self, text, body, comments, lines):
        self.text = text
        self.body = body
        self.comments = comments
        self.lines = lines


def parse(text, start=0, end=None, hcl1=False, template=False, lines=None):
    """Parse text[start:end] as an HCL body; raises HclSyntaxError (offsets into ``text``)."""
    tokenizer = Tokenizer(text, start, end, template=template)
    tokens = tokenizer.tokenize()
    parser = Parser(tokens, hcl1=hcl1, template=template)
    body = parser.parse_file()
    body.start = start
    return HclFile(text, body, tokenizer.comments, lines or LineIndex(text))


def render_string(value):
    """An HCL quoted string for a Python string (interpolation markers escaped)."""
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    out = out.replace("\t", "\\t").replace("${", "$${").replace("%{", "%%{")
    return '"%s"' % out


def render_value(value):
    """HCL text for a Python scalar."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    return render_string(value)
