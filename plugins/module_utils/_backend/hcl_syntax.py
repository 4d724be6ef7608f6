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

Offsets are indexes into the text (``str``), lines are 1-based."""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.hcl_tokens import (
    EOF,
    HEREDOC,
    HclSyntaxError,
    IDENT,
    INTERP,
    LineIndex,
    NEWLINE,
    NUMBER,
    OP,
    STRING,
    Token,
    Tokenizer,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.hcl_tree import (
    Block,
    Body,
    Expr,
    HclFile,
    Item,
)


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


def parse(text, start=0, end=None, hcl1=False, template=False, lines=None):
    """Parse text[start:end] as an HCL body; raises HclSyntaxError (offsets into ``text``)."""
    tokenizer = Tokenizer(text, start, end, template=template)
    tokens = tokenizer.tokenize()
    parser = Parser(tokens, hcl1=hcl1, template=template)
    body = parser.parse_file()
    body.start = start
    return HclFile(text, body, tokenizer.comments, lines or LineIndex(text))
