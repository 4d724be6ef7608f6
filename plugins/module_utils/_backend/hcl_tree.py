# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tree ``hcl_syntax`` builds (``Expr``, ``Item``, ``Block``, ``Body``, ``HclFile``), each node with its
character span, and how a value is written as HCL text. No Ansible imports."""


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


class HclFile:
    """A parsed text: its body, comments and line index."""

    def __init__(self, text, body, comments, lines):
        self.text = text
        self.body = body
        self.comments = comments
        self.lines = lines


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
