# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HCL tokens: the tokenizer behind ``hcl_syntax`` (strings, heredocs, templates, comments) and the
line index of a text. No Ansible imports."""

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
