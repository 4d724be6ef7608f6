# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The splice editor: planned operations become edits of the original text.

Pure Python, no Ansible imports. Only the lines that must change are touched: a removed
setting takes its whole line with it (its comment too), a new one copies its neighbour's
indentation and line ending. What differs between HCL and JSON (how a setting is written,
where commas go) is asked of one syntax object per form, :data:`HCL` or :data:`JSON`.
"""

import collections
import re

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import hcl_tree as hcl
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import json_syntax as hjson
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.plan import Skip, node_name


# ---------------------------------------------------------------------------------------------
# Text geometry
# ---------------------------------------------------------------------------------------------

def skip_blanks(text, pos, end=None):
    """The first offset from ``pos`` that is not a space or tab."""
    end = len(text) if end is None else end
    while pos < end and text[pos] in " \t":
        pos += 1
    return pos


def own_lines(text, lines, start, end, comma=True):
    """``(first line, last line, has comma)`` when text[start:end] sits on lines of its own.

    Only blanks may precede it on its first line; after it only blanks, an optional comma and
    comments may follow up to the end of its last line. None otherwise.
    """
    first = lines.line_of(start)
    if text[lines.start(first):start].strip(" \t"):
        return None
    pos = skip_blanks(text, end)
    has_comma = False
    if comma and text.startswith(",", pos):
        has_comma = True
        pos = skip_blanks(text, pos + 1)
    while True:
        if text.startswith("#", pos) or text.startswith("//", pos):
            pos = lines.content_end(lines.line_of(pos))
            break
        if text.startswith("/*", pos):
            close = text.find("*/", pos + 2)
            pos = skip_blanks(text, close + 2)
            continue
        break
    last = lines.line_of(pos)
    if pos != lines.content_end(last):
        return None
    return first, last, has_comma


def newline_for(lines, line):
    """The line ending for a new line next to ``line``: its own, or the one before it, or LF."""
    own = lines.newline(line)
    if own:
        return own
    if line > 1:
        return lines.newline(line - 1) or "\n"
    return "\n"


class Splice:
    """Replace text[start:end] with ``text``; ``kind`` is remove, replace, insert, value or align."""
    __slots__ = ("start", "end", "text", "kind")

    def __init__(self, start, end, text, kind):
        self.start = start
        self.end = end
        self.text = text
        self.kind = kind


def apply_splices(text, splices):
    """Apply non-overlapping splices; returns ``(new text, [(new start, new end, splice)])``."""
    ordered = sorted(splices, key=lambda s: (s.start, s.end))
    out = []
    placed = []
    cursor = 0
    delta = 0
    for splice in ordered:
        if splice.start < cursor:
            raise ValueError("overlapping edits at offset %d" % splice.start)
        out.append(text[cursor:splice.start])
        new_start = splice.start + delta
        out.append(splice.text)
        placed.append((new_start, new_start + len(splice.text), splice))
        delta += len(splice.text) - (splice.end - splice.start)
        cursor = splice.end
    out.append(text[cursor:])
    return "".join(out), placed


def map_to_old(placed, offset):
    """The original offset of a new-text offset outside every splice (None inside one)."""
    delta = 0
    for new_start, new_end, splice in placed:
        if offset < new_start:
            break
        if offset < new_end:
            return None
        delta = new_end - splice.end
    return offset - delta


# ---------------------------------------------------------------------------------------------
# One syntax object per form
# ---------------------------------------------------------------------------------------------

class HclSyntax:
    """HCL: ``name = value``; commas only between the entries of an object expression."""
    name = "hcl"
    aligns = True   # terraform fmt aligns ``=`` of consecutive one-line attributes

    @staticmethod
    def inline_separator(text, parent, like):
        """What goes between a new entry and its neighbour on one line: as the object writes it, else ``", "``."""
        return same_line_separator(text, parent) or ", "

    @staticmethod
    def render_value(value):
        return hcl.render_value(value)

    def render(self, text, name, value, like):
        """``name = value`` spaced like the setting ``like`` (``key=value`` files stay that way)."""
        before, sep, after = " ", "=", " "
        if isinstance(like, hcl.Item) and like.sep:
            sep = like.sep
            sep_at = text.index(sep, like.name_end, like.value.start)
            before = text[like.name_end:sep_at]
            after = text[sep_at + 1:like.value.start]
            if "\n" in before + after:
                before, after = " ", " "
        return "%s%s%s%s%s" % (name, before, sep, after, self.render_value(value))

    @staticmethod
    def takes_comma(node):
        """Whether a comma after ``node`` belongs to it (a block is never followed by one)."""
        return not isinstance(node, hcl.Block)

    @staticmethod
    def needs_commas(parent):
        return isinstance(parent, hcl.Expr) and parent.kind == "object"

    @staticmethod
    def comma_after(parent, node, had_comma):
        """Whether a line written in place of (or after) ``node`` ends with a comma."""
        return had_comma

    @staticmethod
    def comma_before(had_comma):
        """Whether a line written before an entry ends with a comma."""
        return had_comma

    @staticmethod
    def anchor_needs_comma(parent, anchor):
        """Whether ``anchor`` must gain a comma when a line is written after it."""
        return False


class JsonSyntax:
    """JSON: ``"name": value``; members always separated by commas, none after the last."""
    name = "json"
    aligns = False

    @staticmethod
    def inline_separator(text, parent, like):
        """What goes between a new member and its neighbour on one line: as the object writes it, else as the file
        does (a minified file stays minified)."""
        return same_line_separator(text, parent) or json_separator(text, like)

    @staticmethod
    def render_value(value):
        return hjson.render(value)

    def render(self, text, name, value, like):
        return '"%s"%s%s' % (name, like.sep, self.render_value(value))

    @staticmethod
    def takes_comma(node):
        return True

    @staticmethod
    def needs_commas(parent):
        return True

    @staticmethod
    def comma_after(parent, node, had_comma):
        return had_comma or parent.items[-1] is not node

    @staticmethod
    def comma_before(had_comma):
        return True

    @staticmethod
    def anchor_needs_comma(parent, anchor):
        return parent.items[-1] is anchor


def same_line_separator(text, parent):
    """The text between two entries of ``parent`` that share a line (``", "``, ``","`` ...), or None."""
    items = parent.items
    for before, after in zip(items, items[1:]):
        between = text[before.end:after.start]
        if "," in between and "\n" not in between and "#" not in between and "/" not in between:
            return between
    return None


_JSON_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_INLINE_COMMA = re.compile(r",([ \t]*)(?=[^\s])")


def json_separator(text, like):
    """How the file separates members on one line: as commas are followed elsewhere in it (strings aside), else as
    its colons are (a minified ``"a":1`` file takes ``,`` alone)."""
    found = collections.Counter(_INLINE_COMMA.findall(_JSON_STRINGS.sub('""', text)))
    if found:
        return "," + found.most_common(1)[0][0]
    return "," if like is not None and getattr(like, "sep", ": ") == ":" else ", "


HCL = HclSyntax()
JSON = JsonSyntax()
SYNTAXES = {"hcl": HCL, "json": JSON}


# ---------------------------------------------------------------------------------------------
# Turning operations into splices
# ---------------------------------------------------------------------------------------------

class Editor:
    """Turns one file's operations into splices of its text."""

    def __init__(self, text, lines, syntax):
        self.text = text
        self.lines = lines
        self.syntax = syntax
        self.splices = []

    def render(self, name, value, like):
        return self.syntax.render(self.text, name, value, like)

    def geometry(self, node):
        return own_lines(self.text, self.lines, node.start, node.end, comma=self.syntax.takes_comma(node))

    def add(self, start, end, text, kind):
        self.splices.append(Splice(start, end, text, kind))

    def apply(self, op):
        getattr(self, "op_" + op.kind)(op, op.parent)

    def op_set_value(self, op, parent):
        node = op.node
        self.add(node.value.start, node.value.end, self.syntax.render_value(op.value), "value")

    def op_replace(self, op, parent):
        node = op.node
        where = self.geometry(node)
        line_text = self.render(op.name, op.value, node)
        if where is None:
            self.add(node.start, node.end, line_text, "replace")
            return
        first, last, has_comma = where
        indent = self.text[self.lines.start(first):node.start]
        comma = self.syntax.comma_after(parent, node, has_comma)
        new = indent + line_text + ("," if comma else "") + self.lines.newline(last)
        self.add(self.lines.start(first), self.lines.next_start(last), new, "replace")

    def op_remove(self, op, parent):
        node = op.node
        where = self.geometry(node)
        items = parent.items
        index = next(i for i, item in enumerate(items) if item is node)
        needs_commas = self.syntax.needs_commas(parent)
        if where is not None:
            first, last, has_comma = where
            start, end = self.lines.start(first), self.lines.next_start(last)
            if end == len(self.text) and not self.lines.newline(last) and first > 1:
                start = self.lines.content_end(first - 1)
            self.add(start, end, "", "remove")
            if needs_commas and index == len(items) - 1 and index > 0 and not has_comma:
                self._drop_comma_after(items[index - 1])
            return
        if needs_commas and self._remove_inline_with_comma(node, items, index):
            return
        start = node.start
        while start > 0 and self.text[start - 1] in " \t":
            start -= 1
        self.add(start, node.end, "", "remove")

    def _remove_inline_with_comma(self, node, items, index):
        """Remove an entry that shares its line, with a neighbouring comma; False when there is none."""
        after = skip_blanks(self.text, node.end)
        if self.text.startswith(",", after):
            self.add(node.start, skip_blanks(self.text, after + 1), "", "remove")
            return True
        if index > 0:
            comma = self.text.find(",", items[index - 1].end, node.start)
            if comma != -1:
                self.add(comma, node.end, "", "remove")
                return True
        return False

    def _drop_comma_after(self, item):
        comma = skip_blanks(self.text, item.end)
        if self.text.startswith(",", comma):
            self.add(comma, comma + 1, "", "remove")

    def op_insert_after(self, op, parent):
        self._insert(op, parent, after=True)

    def op_insert_before(self, op, parent):
        self._insert(op, parent, after=False)

    def _insert(self, op, parent, after):
        anchor = op.node
        if anchor is None:  # after the container's last attribute
            attributes = [item for item in parent.items if not isinstance(item, hcl.Block)]
            if not attributes:
                raise Skip("layout", "no setting to place %s next to" % op.name)
            anchor = attributes[-1]
        where = self.geometry(anchor)
        entry = self.render(op.name, op.value, anchor)
        if where is None:
            self._insert_inline(parent, anchor, entry, after)
        elif after:
            self._insert_line_after(parent, anchor, entry, where)
        else:
            first, _last, has_comma = where
            indent = self.text[self.lines.start(first):anchor.start]
            comma = self.syntax.comma_before(has_comma)
            pos = self.lines.start(first)
            self.add(pos, pos, indent + entry + ("," if comma else "") + newline_for(self.lines, first), "insert")

    def _insert_inline(self, parent, anchor, entry, after):
        if not self.syntax.needs_commas(parent):
            raise Skip("layout", "the block holding %s at line %d sits on one line and cannot take another "
                       "setting" % (node_name(anchor), self.lines.line_of(anchor.start)))
        separator = self.syntax.inline_separator(self.text, parent, anchor)
        if after:
            self.add(anchor.end, anchor.end, separator + entry, "insert")
        else:
            self.add(anchor.start, anchor.start, entry + separator, "insert")

    def _insert_line_after(self, parent, anchor, entry, where):
        first, last, has_comma = where
        indent = self.text[self.lines.start(first):anchor.start]
        line = indent + entry + ("," if self.syntax.comma_after(parent, anchor, has_comma) else "")
        pos = self.lines.next_start(last)
        if not self.lines.newline(last):
            self.add(pos, pos, newline_for(self.lines, last) + line, "insert")
        else:
            self.add(pos, pos, line + newline_for(self.lines, last), "insert")
        if self.syntax.anchor_needs_comma(parent, anchor):
            self.add(anchor.end, anchor.end, ",", "insert")
