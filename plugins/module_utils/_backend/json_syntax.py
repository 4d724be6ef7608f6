# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A JSON parser that keeps the character span of every value and object member.

Pure Python, no Ansible imports. Terraform's ``*.tf.json`` files are edited by splicing the
original text, so the tree records where each member starts and ends. Values decode exactly
as :func:`json.loads` decodes them (strings through ``json`` itself).
"""

import json
import re

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.hcl_tokens import HclSyntaxError


class JsonValue:
    """``kind`` is object, array, string, number or literal; ``value`` holds scalars."""
    __slots__ = ("kind", "start", "end", "value", "items")

    def __init__(self, kind, start, end, value=None, items=None):
        self.kind = kind
        self.start = start
        self.end = end
        self.value = value
        self.items = items   # object: [JsonMember], array: [JsonValue]

    def python_value(self):
        if self.kind == "object":
            return {member.name: member.value.python_value() for member in self.items}
        if self.kind == "array":
            return [item.python_value() for item in self.items]
        return self.value

    def member(self, name):
        for member in self.items or ():
            if member.name == name:
                return member
        return None


class JsonMember:
    __slots__ = ("name", "start", "name_end", "colon", "value", "end", "sep")

    def __init__(self, name, start, name_end, colon, value, sep):
        self.name = name
        self.start = start
        self.name_end = name_end
        self.colon = colon
        self.value = value
        self.end = value.end
        self.sep = sep   # the text between the key and the value, e.g. ": " or ":"

    @property
    def is_literal(self):
        return self.value.kind in ("string", "number", "literal")


_WS = re.compile(r"[ \t\r\n]*")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}


class _Parser:
    def __init__(self, text):
        self.text = text

    def ws(self, pos):
        return _WS.match(self.text, pos).end()

    def value(self, pos):
        text = self.text
        c = text[pos:pos + 1]
        if c == "{":
            return self.obj(pos)
        if c == "[":
            return self.array(pos)
        if c == '"':
            return self.string(pos)
        m = _NUMBER.match(text, pos)
        if m:
            return JsonValue("number", pos, m.end(), value=json.loads(m.group()))
        for word, value in _LITERALS.items():
            if text.startswith(word, pos):
                return JsonValue("literal", pos, pos + len(word), value=value)
        raise HclSyntaxError("expected a JSON value", pos)

    def string(self, pos):
        m = _STRING.match(self.text, pos)
        if m is None:
            raise HclSyntaxError("unterminated or invalid JSON string", pos)
        return JsonValue("string", pos, m.end(), value=json.loads(m.group()))

    def obj(self, start):
        text = self.text
        members = []
        pos = self.ws(start + 1)
        if text.startswith("}", pos):
            return JsonValue("object", start, pos + 1, items=members)
        while True:
            if not text.startswith('"', pos):
                raise HclSyntaxError("expected a quoted member name", pos)
            key = self.string(pos)
            colon = self.ws(key.end)
            if not text.startswith(":", colon):
                raise HclSyntaxError("expected : after the member name", colon)
            value_start = self.ws(colon + 1)
            value = self.value(value_start)
            members.append(JsonMember(key.value, pos, key.end, colon, value, text[key.end:value_start]))
            pos = self.ws(value.end)
            if text.startswith(",", pos):
                pos = self.ws(pos + 1)
                continue
            if text.startswith("}", pos):
                return JsonValue("object", start, pos + 1, items=members)
            raise HclSyntaxError("expected , or } in the object", pos)

    def array(self, start):
        text = self.text
        items = []
        pos = self.ws(start + 1)
        if text.startswith("]", pos):
            return JsonValue("array", start, pos + 1, items=items)
        while True:
            item = self.value(pos)
            items.append(item)
            pos = self.ws(item.end)
            if text.startswith(",", pos):
                pos = self.ws(pos + 1)
                continue
            if text.startswith("]", pos):
                return JsonValue("array", start, pos + 1, items=items)
            raise HclSyntaxError("expected , or ] in the array", pos)


def parse(text):
    """Parse a JSON document; raises HclSyntaxError with the offset of the problem."""
    parser = _Parser(text)
    pos = parser.ws(0)
    root = parser.value(pos)
    end = parser.ws(root.end)
    if end != len(text):
        raise HclSyntaxError("unexpected text after the JSON document", end)
    return root


def render(value):
    return json.dumps(value)
