# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Change the lock settings of S3 backends by splicing the original text.

Pure Python, no Ansible imports. Modes:

- ``lockfile``: ``use_lockfile = true``; ``dynamodb_table``, ``dynamodb_endpoint`` and
  ``endpoints.dynamodb`` removed. ``use_lockfile`` takes the place of ``dynamodb_table``.
- ``dual``: ``use_lockfile = true`` right after ``dynamodb_table``, which stays.
- ``dynamodb`` (rollback): ``use_lockfile`` removed; ``dynamodb_table`` set where there is none.

Only the lines that must change are touched: a removed setting takes its whole line with it
(its comment too), a new one copies its neighbour's indentation and line ending, and the
``=`` (and trailing comment) alignment of the edited group of lines follows ``terraform fmt``
when the group was formatted that way before. Everything else stays byte for byte. The
result is parsed again and its settings compared with the expected ones before it is returned.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.tfstate.s3_backend.plugins.module_utils import backend_discovery as disc
from ansible_collections.tfstate.s3_backend.plugins.module_utils import backend_hcl_syntax as hcl
from ansible_collections.tfstate.s3_backend.plugins.module_utils import backend_json_syntax as hjson

MODES = ("lockfile", "dual", "dynamodb")


class RewriteError(Exception):
    """An edit that could not be verified: nothing may be written."""

    def __init__(self, path, line, reason):
        super(RewriteError, self).__init__("%s:%s: %s" % (path, line, reason))
        self.path = path
        self.line = line
        self.reason = reason


class _Skip(Exception):
    """A backend left untouched, with why."""

    def __init__(self, kind, reason):
        super(_Skip, self).__init__(reason)
        self.kind = kind
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# Text geometry
# ---------------------------------------------------------------------------------------------

def _skip_blanks(text, pos, end=None):
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
    pos = _skip_blanks(text, end)
    has_comma = False
    if comma and text.startswith(",", pos):
        has_comma = True
        pos = _skip_blanks(text, pos + 1)
    while True:
        if text.startswith("#", pos) or text.startswith("//", pos):
            pos = lines.content_end(lines.line_of(pos))
            break
        if text.startswith("/*", pos):
            close = text.find("*/", pos + 2)
            pos = _skip_blanks(text, close + 2)
            continue
        break
    last = lines.line_of(pos)
    if pos != lines.content_end(last):
        return None
    return first, last, has_comma


def _newline_for(lines, line):
    """The line ending for a new line next to ``line``: its own, or the one before it, or LF."""
    own = lines.newline(line)
    if own:
        return own
    if line > 1:
        return lines.newline(line - 1) or "\n"
    return "\n"


class Splice:
    __slots__ = ("start", "end", "text", "kind")

    def __init__(self, start, end, text, kind):
        self.start = start
        self.end = end
        self.text = text
        self.kind = kind     # remove, replace, insert, value, align


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


def _map_to_old(placed, offset):
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
# Planning: which settings change, as item-level operations
# ---------------------------------------------------------------------------------------------

class _Op:
    __slots__ = ("kind", "node", "parent", "name", "value")

    def __init__(self, kind, node, name=None, value=None, parent=None):
        self.kind = kind      # remove, replace, insert_after, insert_before, set_value
        self.node = node      # the item the operation is anchored on
        self.parent = parent  # the container holding node
        self.name = name
        self.value = value


def _is_true(value):
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _endpoints_container(backend):
    """The object (or block body) ``endpoints`` holds its entries in, or None."""
    node = backend.nodes.get("endpoints")
    if node is None:
        return None
    if backend.syntax != "json" and isinstance(node, hcl.Block):
        return node.body
    return node.value if node.value.kind == "object" else None


def _endpoints_object(backend):
    """``(container, dynamodb item)`` of ``endpoints``' dynamodb entry, or (None, None)."""
    container = _endpoints_container(backend)
    if container is None:
        return None, None
    for item in container.items:
        if getattr(item, "name", None) == "dynamodb":
            return container, item
    return None, None


def plan(backend, mode, dynamodb_table=None):
    """Operations that bring a backend to ``mode``; raises _Skip when it is left as it is."""
    if backend.templated:
        raise _Skip("template", "templated backend at line %d: %s" % (backend.line, backend.templated))
    if backend.expression_keys:
        raise _Skip("expression", "the backend at line %d names a setting with an expression at line %d; only "
                    "literal setting names can be edited" % (backend.line, backend.expression_keys[0]))
    if not backend.has_lock_settings:
        reason = "the backend at line %d has no lock setting (lock mode none); nothing to change" % backend.line
        unknown = [name for name in backend.nodes if backend.syntax == "hcl" and name not in disc.S3_SETTINGS
                   and not backend.form.startswith("terragrunt")]
        if unknown:
            reason += "; %s at line %d is not an S3 backend setting" % (unknown[0], backend.setting_line(unknown[0]))
        if backend.incomplete:
            partials = disc.find_partial_configs(os.path.dirname(backend.path) or ".")
            if partials:
                reason += "; its other settings come from partial configurations such as %s" % ", ".join(
                    os.path.basename(p.path) for p in partials[:3])
        raise _Skip("no_lock_settings", reason)
    if backend.form in ("block", "json", "partial") and backend.unresolved:
        # Terraform refuses such a backend already; an edit could not be proven right by terraform init.
        name = sorted(backend.unresolved, key=backend.setting_line)[0]
        raise _Skip("expression", "the backend at line %d sets %s at line %d to an expression, which Terraform does "
                    "not accept in a backend; fix that first" % (backend.line, name, backend.setting_line(name)))
    nodes = backend.nodes
    container = backend.container
    table = nodes.get("dynamodb_table")
    lockfile = nodes.get("use_lockfile")
    ops = []
    warnings = []

    def ensure_lockfile_true():
        if lockfile is not None and "use_lockfile" not in backend.unresolved \
                and backend.settings["use_lockfile"] is not True:
            ops.append(_Op("set_value", lockfile, "use_lockfile", True))

    if mode == "lockfile":
        removed = [nodes[name] for name in disc.DYNAMODB_SETTINGS if name in nodes]
        endpoints, dynamodb_endpoint = _endpoints_object(backend)
        endpoints_node = nodes.get("endpoints")
        drop_endpoints = dynamodb_endpoint is not None and len(endpoints.items) == 1
        if drop_endpoints:
            removed.append(endpoints_node)
        elif dynamodb_endpoint is not None:
            ops.append(_Op("remove", dynamodb_endpoint, parent=endpoints))
        if not removed and dynamodb_endpoint is None:
            if backend.lockfile_on and (lockfile is None or backend.settings["use_lockfile"] is True
                                        or "use_lockfile" in backend.unresolved):
                raise _Skip("already", "the backend at line %d already uses only use_lockfile" % backend.line)
        if lockfile is None:
            anchor = table if table is not None else (removed[0] if removed else None)
            if anchor is not None:
                ops.append(_Op("replace", anchor, "use_lockfile", True, parent=container))
                removed = [node for node in removed if node is not anchor]
            else:
                ops.append(_Op("insert_after", endpoints_node, "use_lockfile", True, parent=container))
        else:
            ensure_lockfile_true()
        ops.extend(_Op("remove", node, parent=container) for node in removed)
        return ops, warnings

    if mode == "dual":
        has_table = backend.has_table
        if not has_table and not dynamodb_table:
            raise _Skip("needs_table", "the backend at line %d has no dynamodb_table to keep; give dynamodb_table"
                        % backend.line)
        if has_table and dynamodb_table and backend.settings.get("dynamodb_table") != dynamodb_table:
            warnings.append("keeps its dynamodb_table %r (line %d); the given %r is not applied"
                            % (backend.settings.get("dynamodb_table"), backend.setting_line("dynamodb_table"),
                               dynamodb_table))
        if not has_table:
            if table is not None:
                ops.append(_Op("set_value", table, "dynamodb_table", dynamodb_table))
            elif lockfile is not None:
                ops.append(_Op("insert_before", lockfile, "dynamodb_table", dynamodb_table, parent=container))
            else:
                raise _Skip("no_lock_settings", "the backend at line %d has no lock setting" % backend.line)
        if lockfile is None:
            ops.append(_Op("insert_after", table if table is not None else None, "use_lockfile", True,
                           parent=container))
        else:
            ensure_lockfile_true()
        if not ops:
            raise _Skip("already", "the backend at line %d already locks with both DynamoDB and use_lockfile"
                        % backend.line)
        return ops, warnings

    # dynamodb (rollback)
    if lockfile is None:
        if backend.has_table:
            raise _Skip("already", "the backend at line %d already locks with DynamoDB only" % backend.line)
        raise _Skip("no_lock_settings", "the backend at line %d has no lock setting" % backend.line)
    if backend.has_table:
        if dynamodb_table and backend.settings.get("dynamodb_table") != dynamodb_table:
            warnings.append("keeps its dynamodb_table %r (line %d); the given %r is not applied"
                            % (backend.settings.get("dynamodb_table"), backend.setting_line("dynamodb_table"),
                               dynamodb_table))
        ops.append(_Op("remove", lockfile, parent=container))
    elif dynamodb_table:
        if table is not None:
            ops.append(_Op("set_value", table, "dynamodb_table", dynamodb_table))
            ops.append(_Op("remove", lockfile, parent=container))
        else:
            ops.append(_Op("replace", lockfile, "dynamodb_table", dynamodb_table, parent=container))
    else:
        raise _Skip("needs_table", "the backend at line %d has no dynamodb_table to go back to; give dynamodb_table"
                    % backend.line)
    return ops, warnings


def expected_settings(backend, ops):
    """The settings the backend must read back after the operations."""
    settings = dict(backend.settings)
    for op in ops:
        if op.kind == "remove":
            if op.parent is backend.container:
                del settings[_node_name(op.node)]
            else:
                endpoints = dict(settings["endpoints"])
                del endpoints["dynamodb"]
                settings["endpoints"] = endpoints
        elif op.kind == "replace":
            del settings[_node_name(op.node)]
            settings[op.name] = op.value
        else:
            settings[op.name] = op.value
    return settings


def _node_name(node):
    return node.type if isinstance(node, hcl.Block) else node.name


# ---------------------------------------------------------------------------------------------
# Turning operations into splices
# ---------------------------------------------------------------------------------------------

class _Editor:
    """Turns one file's operations into splices of its text."""

    def __init__(self, text, lines, syntax):
        self.text = text
        self.lines = lines
        self.syntax = syntax
        self.splices = []
        self.touched = []    # original line ranges replaced or removed, and insertion points

    def render(self, name, value, like):
        """``name = value`` spaced like the setting ``like`` (``key=value`` files stay that way)."""
        if self.syntax == "json":
            return '"%s"%s%s' % (name, like.sep, hjson.render(value))
        before, sep, after = " ", "=", " "
        if isinstance(like, hcl.Item) and like.sep:
            sep = like.sep
            sep_at = self.text.index(sep, like.name_end, like.value.start)
            before = self.text[like.name_end:sep_at]
            after = self.text[sep_at + 1:like.value.start]
            if "\n" in before + after:
                before, after = " ", " "
        return "%s%s%s%s%s" % (name, before, sep, after, hcl.render_value(value))

    def geometry(self, node):
        return own_lines(self.text, self.lines, node.start, node.end,
                         comma=self.syntax == "json" or not isinstance(node, hcl.Block))

    def add(self, start, end, text, kind):
        self.splices.append(Splice(start, end, text, kind))

    def apply(self, op, parent):
        handler = getattr(self, "op_" + op.kind)
        handler(op, parent)

    def op_set_value(self, op, parent):
        node = op.node
        if self.syntax == "json":
            self.add(node.value.start, node.value.end, hjson.render(op.value), "value")
        else:
            self.add(node.value.start, node.value.end, hcl.render_value(op.value), "value")

    def op_replace(self, op, parent):
        node = op.node
        where = self.geometry(node)
        line_text = self.render(op.name, op.value, node)
        if where is None:
            self.add(node.start, node.end, line_text, "replace")
            return
        first, last, has_comma = where
        indent = self.text[self.lines.start(first):node.start]
        if self.syntax == "json" and not has_comma and self._json_needs_comma(parent, node):
            has_comma = True
        new = indent + line_text + ("," if has_comma else "") + self.lines.newline(last)
        self.add(self.lines.start(first), self.lines.next_start(last), new, "replace")

    def op_remove(self, op, parent):
        node = op.node
        where = self.geometry(node)
        items = parent.items
        index = next(i for i, item in enumerate(items) if item is node)
        is_last = index == len(items) - 1
        needs_commas = self.syntax == "json" or (isinstance(parent, hcl.Expr) and parent.kind == "object")
        if where is not None:
            first, last, has_comma = where
            start, end = self.lines.start(first), self.lines.next_start(last)
            if end == len(self.text) and not self.lines.newline(last) and first > 1:
                start = self.lines.content_end(first - 1)
            self.add(start, end, "", "remove")
            if needs_commas and is_last and index > 0 and not has_comma:
                self._drop_comma_after(items[index - 1])
            return
        # inline: take a neighbouring comma with it
        if needs_commas:
            after = _skip_blanks(self.text, node.end)
            if self.text.startswith(",", after):
                self.add(node.start, _skip_blanks(self.text, after + 1), "", "remove")
                return
            if index > 0:
                prev_end = items[index - 1].end
                comma = self.text.find(",", prev_end, node.start)
                if comma != -1:
                    self.add(comma, node.end, "", "remove")
                    return
        start = node.start
        while start > 0 and self.text[start - 1] in " \t":
            start -= 1
        self.add(start, node.end, "", "remove")

    def _drop_comma_after(self, item):
        comma = _skip_blanks(self.text, item.end)
        if self.text.startswith(",", comma):
            self.add(comma, comma + 1, "", "remove")

    def _json_needs_comma(self, parent, node):
        items = parent.items
        return items[-1] is not node

    def op_insert_after(self, op, parent):
        self._insert(op, parent, after=True)

    def op_insert_before(self, op, parent):
        self._insert(op, parent, after=False)

    def _insert(self, op, parent, after):
        anchor = op.node
        if anchor is None:  # after the container's last attribute
            attributes = [item for item in parent.items if not isinstance(item, hcl.Block)]
            if not attributes:
                raise _Skip("layout", "no setting to place %s next to" % op.name)
            anchor = attributes[-1]
        where = self.geometry(anchor)
        needs_commas = self.syntax == "json" or (isinstance(parent, hcl.Expr) and parent.kind == "object")
        entry = self.render(op.name, op.value, anchor)
        if where is None:
            if not needs_commas:
                raise _Skip("layout", "the block holding %s at line %d sits on one line and cannot take another "
                            "setting" % (_node_name(anchor), self.lines.line_of(anchor.start)))
            if after:
                self.add(anchor.end, anchor.end, ", " + entry, "insert")
            else:
                self.add(anchor.start, anchor.start, entry + ", ", "insert")
            return
        first, last, has_comma = where
        indent = self.text[self.lines.start(first):anchor.start]
        items = parent.items
        if after:
            comma = has_comma if self.syntax != "json" else (items[-1] is not anchor)
            newline = _newline_for(self.lines, last)
            line = indent + entry + ("," if comma else "")
            pos = self.lines.next_start(last)
            if not self.lines.newline(last):
                self.add(pos, pos, newline + line, "insert")
            else:
                self.add(pos, pos, line + newline, "insert")
            if self.syntax == "json" and items[-1] is anchor:
                self._add_comma_after(anchor)
        else:
            comma = has_comma if self.syntax != "json" else True
            pos = self.lines.start(first)
            self.add(pos, pos, indent + entry + ("," if comma else "") + _newline_for(self.lines, first), "insert")

    def _add_comma_after(self, node):
        self.add(node.end, node.end, ",", "insert")


# ---------------------------------------------------------------------------------------------
# terraform fmt alignment of the edited lines
# ---------------------------------------------------------------------------------------------

class _Line:
    """An attribute that sits alone on one line: where its name ends and its = is."""
    __slots__ = ("line", "indent", "name_end", "sep", "name_len")

    def __init__(self, line, indent, name_end, sep, name_len):
        self.line = line
        self.indent = indent
        self.name_end = name_end
        self.sep = sep
        self.name_len = name_len


def _chains(text, lines, container):
    """terraform fmt's alignment groups: runs of consecutive one-line attributes."""
    chains = []
    current = []
    for item in container.items:
        entry = None
        if isinstance(item, hcl.Item) and item.sep is not None:
            where = own_lines(text, lines, item.start, item.end)
            if where is not None and where[0] == where[1]:
                sep = text.index(item.sep, item.name_end, item.value.start)
                entry = _Line(where[0], item.start - lines.start(where[0]), item.name_end, sep,
                              item.name_end - item.start)
        if entry is None or (current and entry.line != current[-1].line + 1):
            if current:
                chains.append(current)
            current = [entry] if entry is not None else []
        else:
            current.append(entry)
    if current:
        chains.append(current)
    return chains


def _chain_style(chain):
    """fmt (= one column past the longest name), ("column", c) (one shared column), or ragged."""
    widest = max(entry.name_len for entry in chain)
    columns = set(entry.sep - entry.name_end + entry.name_len for entry in chain)
    if all(entry.sep - entry.name_end == widest - entry.name_len + 1 for entry in chain):
        return "fmt"
    if len(columns) == 1:
        return ("column", columns.pop())
    return "ragged"


def _trailing_comments(text, lines, comments):
    """line -> (code end offset, comment start offset) for comments that follow code on their line."""
    result = {}
    for comment in comments:
        line = lines.line_of(comment.start)
        if line in result:
            continue
        start = lines.start(line)
        code = text[start:comment.start].rstrip(" \t")
        if code.strip():
            result[line] = (start + len(code), comment.start)
    return result


def _comment_chains(trailing):
    chains = []
    for line in sorted(trailing):
        if chains and chains[-1][-1] == line - 1:
            chains[-1].append(line)
        else:
            chains.append([line])
    return chains


def _comment_chain_style(lines, chain, trailing):
    """fmt (one column past the longest code), ("column", c) (one shared column), or ragged.

    A lone comment shows no alignment at all: it is ragged, so it keeps its distance to the code.
    """
    if len(chain) < 2:
        return "ragged"
    widest = max(trailing[line][0] - lines.start(line) for line in chain)
    columns = set(trailing[line][1] - lines.start(line) for line in chain)
    if columns == set([widest + 1]):
        return "fmt"
    if len(columns) == 1:
        return ("column", columns.pop())
    return "ragged"


class _Aligner:
    """Re-pads ``=`` and trailing comments of edited attribute groups, as terraform fmt would.

    A group keeps the style it had: fmt-aligned groups are aligned again after the edit,
    groups aligned on one shared column give new lines that column, ragged groups give new
    lines one space. Trailing comments of fmt-aligned comment groups are aligned again; other
    comments keep their column when the code before them moves.
    """

    def __init__(self, old, new, placed):
        self.old = old
        self.new = new
        self.placed = placed
        self.origins = {}       # new line -> old lines it came from (empty for inserted lines)
        self.removed = []       # old line ranges removed outright
        self.value_lines = set()
        self._map_lines()

    def _map_lines(self):
        old_lines, new_lines = self.old.lines, self.new.lines
        for new_start, new_end, splice in self.placed:
            old_first = old_lines.line_of(splice.start)
            old_last = old_lines.line_of(max(splice.start, splice.end - 1))
            if splice.kind == "value":
                self.value_lines.add(new_lines.line_of(new_start))
            elif splice.kind == "remove":
                self.removed.append((old_first, old_last))
            elif new_end > new_start:
                fresh = set() if splice.kind == "insert" else set(range(old_first, old_last + 1))
                for line in range(new_lines.line_of(new_start), new_lines.line_of(new_end - 1) + 1):
                    self.origins[line] = fresh

    def origin(self, new_line):
        if new_line in self.origins:
            return self.origins[new_line]
        old = _map_to_old(self.placed, self.new.lines.start(new_line))
        return set() if old is None else set([self.old.lines.line_of(old)])

    def splices(self, pairs):
        """Alignment splices for ``[(old container, new container)]``: a backend's body, its endpoints object."""
        pads = {}
        for old_container, new_container in pairs:
            pads.update(self.pads(old_container, new_container))
        result = [Splice(entry.name_end, entry.sep, " " * pad, "align") for entry, pad in pads.values()]
        result.extend(self.comment_splices(pads))
        return result

    def pads(self, old_container, new_container):
        """line -> (entry, spaces before its =) for the edited alignment groups of one container."""
        style_of = {}
        for chain in _chains(self.old.text, self.old.lines, old_container):
            style = _chain_style(chain)
            for entry in chain:
                style_of[entry.line] = style
        pads = {}
        for chain in _chains(self.new.text, self.new.lines, new_container):
            origins = [self.origin(entry.line) for entry in chain]
            old_members = set().union(*origins)
            edited = any(entry.line in self.origins for entry in chain) or any(
                first - 1 in old_members or last + 1 in old_members for first, last in self.removed)
            if not edited:
                continue
            involved = set(old_members)
            for first, last in self.removed:
                if first - 1 in old_members or last + 1 in old_members:
                    involved.update(range(first, last + 1))
            styles = set(style_of[line] for line in involved if line in style_of)
            widest = max(entry.name_len for entry in chain)
            fresh = [entry for entry in chain if entry.line in self.origins]
            if not styles or styles == set(["fmt"]):
                targets = [(entry, widest - entry.name_len + 1) for entry in chain]
            elif len(styles) == 1 and isinstance(next(iter(styles)), tuple):
                column = next(iter(styles))[1]
                targets = [(entry, max(1, column - entry.name_len)) for entry in fresh]
            else:
                targets = []  # ragged: new lines keep the spacing of the setting they sit next to
            for entry, pad in targets:
                if entry.sep - entry.name_end != pad:
                    pads[entry.line] = (entry, pad)
        return pads

    def comment_splices(self, pads):
        """Trailing comments on lines whose code moved keep their group's style."""
        old, new = self.old, self.new
        old_trailing = _trailing_comments(old.text, old.lines, old.comments)
        old_style = {}
        for chain in _comment_chains(old_trailing):
            style = _comment_chain_style(old.lines, chain, old_trailing)
            for line in chain:
                old_style[line] = style
        new_trailing = _trailing_comments(new.text, new.lines, new.comments)
        shift = dict((line, pad - (entry.sep - entry.name_end)) for line, (entry, pad) in pads.items())
        moved = set(shift) | self.value_lines | set(self.origins)
        for first, last in self.removed:
            for line in range(1, new.lines.count + 1):
                if self.origin(line) & set([first - 1, last + 1]):
                    moved.add(line)
        result = []
        for chain in _comment_chains(new_trailing):
            if not set(chain) & moved:
                continue
            styles = set(old_style.get(o, "ragged") for line in chain for o in (self.origin(line) or [None]))
            ends = dict((line, new_trailing[line][0] - new.lines.start(line) + shift.get(line, 0)) for line in chain)
            if styles == set(["fmt"]):
                column = max(ends.values()) + 1
            elif len(styles) == 1 and isinstance(next(iter(styles)), tuple):
                column = next(iter(styles))[1]
            else:
                continue  # ragged comments keep their distance to the code
            for line in chain:
                code_end, comment = new_trailing[line]
                spaces = max(1, column - ends[line])
                if comment - code_end != spaces:
                    result.append(Splice(code_end, comment, " " * spaces, "align"))
        return result


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------

class FileRewrite:
    """What a mode change does to one file."""

    def __init__(self, path, text_file):
        self.path = path
        self.file = text_file
        self.before = text_file.text if text_file else None
        self.after = self.before
        self.changes = []      # per changed backend: line, form, lock modes, removed/added settings
        self.untouched = []    # {file, line, kind, reason}
        self.locals = []       # locals a removed dynamodb_table came from
        self.explicit = False  # named in paths (not found by walking a directory)

    @property
    def changed(self):
        return self.after != self.before

    def skip(self, line, kind, reason):
        self.untouched.append({"file": self.path, "line": line, "kind": kind, "reason": reason})


_NOTE_REASONS = ("template", "remote_state_data", "lock_table_resource", "commented_out", "other_backend",
                 "unreadable_config")


def rewrite_scan(scan, kind, mode, dynamodb_table=None):
    """Plan, splice, align and verify one scanned file. Raises RewriteError when verification fails."""
    result = FileRewrite(scan.path, scan.file)
    if scan.failure:
        result.skip(scan.failure["line"], "parse_error", "cannot parse: %s" % scan.failure["reason"])
        return result
    if not scan.backends:
        notes = [n for n in scan.notes if n["kind"] in _NOTE_REASONS] or scan.notes
        if notes:
            for note in notes:
                result.skip(note["line"], note["kind"], note["message"])
        else:
            result.skip(None, "no_backend", "no S3 backend settings")
        return result
    for note in scan.notes:
        if note["kind"] == "template" and not any(b.line == note["line"] for b in scan.backends):
            result.skip(note["line"], note["kind"], note["message"])
    text = scan.file.text
    lines = scan.backends[0].lines
    syntax = scan.backends[0].syntax
    editor = _Editor(text, lines, syntax)
    planned = []
    for backend in scan.backends:
        before = len(editor.splices)
        try:
            ops, warnings = plan(backend, mode, dynamodb_table)
            for op in ops:
                editor.apply(op, op.parent)
        except _Skip as skip:
            del editor.splices[before:]
            result.skip(backend.line, skip.kind, skip.reason)
            continue
        planned.append((backend, ops, warnings))
    if not planned:
        return result
    try:
        new_text, placed = apply_splices(text, editor.splices)
    except ValueError as exc:
        raise RewriteError(scan.path, planned[0][0].line, str(exc))
    new_scan = None
    if syntax == "hcl":
        new_text, new_scan = _align(scan, kind, new_text, placed, planned)
    _verify(scan, kind, new_text, planned, mode, new_scan)
    result.after = new_text
    for backend, ops, warnings in planned:
        removed = [_node_name(op.node) for op in ops if op.kind in ("remove", "replace")]
        removed = ["endpoints.dynamodb" if name == "dynamodb" else name for name in removed]
        added = [op.name for op in ops if op.kind in ("replace", "insert_after", "insert_before")]
        result.changes.append({
            "file": scan.path,
            "line": backend.line,
            "form": backend.form,
            "lock_mode_before": backend.lock_mode,
            "lock_mode_after": mode,
            "removed": removed,
            "added": added,
            "updated": [op.name for op in ops if op.kind == "set_value"],
            "warnings": warnings,
        })
        if "dynamodb_table" in backend.local_refs and "dynamodb_table" in removed:
            local, line = backend.local_refs["dynamodb_table"]
            still = re.search(r"\blocal\.%s\b" % re.escape(local), new_text) is not None
            result.locals.append({
                "file": scan.path, "line": line, "name": local,
                "message": "local.%s held the removed dynamodb_table; it is left in place%s"
                           % (local, " and is still referenced" if still else " and is no longer referenced"),
            })
    return result


class _Text:
    """A stand-in TextFile for scanning edited text."""

    def __init__(self, text, like):
        self.text = text
        self.data = None
        self.encoding = like.encoding if like else "utf-8"
        self.bom = like.bom if like else False


def _rescan(scan, kind, text, first_line):
    new_scan = disc.scan_text(scan.path, _Text(text, scan.file), kind)
    if new_scan.failure:
        raise RewriteError(scan.path, new_scan.failure["line"],
                           "the edited text does not parse: %s" % new_scan.failure["reason"])
    if len(new_scan.backends) != len(scan.backends):
        raise RewriteError(scan.path, first_line, "the edited text holds %d backends instead of %d"
                           % (len(new_scan.backends), len(scan.backends)))
    return new_scan


def _align(scan, kind, new_text, placed, planned):
    """The text with edited groups re-aligned, and its scan when nothing needed aligning."""
    new_scan = _rescan(scan, kind, new_text, planned[0][0].line)
    aligner = _Aligner(scan, new_scan, placed)
    pairs = []
    for backend, ops, _warnings in planned:
        new_backend = new_scan.backends[backend.index]
        pairs.append((backend.container, new_backend.container))
        endpoints = _endpoints_container(backend)
        if endpoints is not None and any(op.parent is endpoints for op in ops):
            # an entry left endpoints = { ... }: the entries that stay are aligned again
            new_endpoints = _endpoints_container(new_backend)
            if new_endpoints is not None:
                pairs.append((endpoints, new_endpoints))
    splices = aligner.splices(pairs)
    if not splices:
        return new_text, new_scan
    return apply_splices(new_text, splices)[0], None


def _verify(scan, kind, new_text, planned, mode, new_scan=None):
    """The edited text parses, and every backend reads back exactly as expected."""
    if new_scan is None:
        new_scan = _rescan(scan, kind, new_text, planned[0][0].line)
    expected = dict((backend.index, expected_settings(backend, ops)) for backend, ops, _w in planned)
    for old, new in zip(scan.backends, new_scan.backends):
        want = expected.get(old.index, old.settings)
        if new.settings != want:
            raise RewriteError(scan.path, old.line, "the edited backend reads back as %r instead of %r"
                               % (sorted(new.settings.items()), sorted(want.items())))
        if old.index in expected and new.lock_mode != mode:
            raise RewriteError(scan.path, old.line, "the edited backend is in lock mode %s, not %s"
                               % (new.lock_mode, mode))


def rewrite_paths(paths, mode, dynamodb_table=None, exclude=()):
    """Plan the mode change of every candidate file under ``paths``; nothing is written here.

    Returns FileRewrite objects for files that change or that hold something worth a reason.
    Raises RewriteError, naming file and line, when an edit cannot be verified.
    """
    if mode not in MODES:
        raise ValueError("mode must be one of %s" % ", ".join(MODES))
    results = []
    for path, explicit in disc.walk(paths, exclude):
        kind = disc.file_kind(os.path.basename(path), explicit=explicit)
        if kind is None:
            if explicit:  # a dependency lock file or a test file, named anyway
                result = FileRewrite(path, None)
                result.explicit = True
                result.skip(None, "no_backend", "a %s file holds no backend settings" % os.path.basename(path))
                results.append(result)
            continue
        text_file = disc.TextFile.read(path)
        if not explicit and not disc.is_candidate(kind, text_file.data):
            continue
        result = rewrite_scan(disc.scan_text(path, text_file, kind), kind, mode, dynamodb_table)
        result.explicit = explicit
        if not explicit:
            result.untouched = [entry for entry in result.untouched if entry["kind"] != "no_backend"]
        if result.changed or result.untouched:
            results.append(result)
    return results


# Why a file is left untouched, by what it says about the file (the ``kind`` of an untouched entry):
# an S3 backend (or what may be one) that cannot be edited ...
NOT_EDITABLE = ("parse_error", "template", "needs_table", "layout", "expression", "unreadable_config")
# ... no S3 backend at all ...
NO_S3_BACKEND = ("no_backend", "remote_state_data", "lock_table_resource", "commented_out", "other_backend")
# ... and a backend that is already as asked or has no lock setting to change ("already", "no_lock_settings").


def untouched_failures(results, fail_on_untouched=None):
    """The untouched entries that fail the task, in order.

    ``fail_on_untouched`` None (the default): a file named in paths fails when it cannot be parsed
    or holds an S3 backend that cannot be edited (NOT_EDITABLE) or no S3 backend at all
    (NO_S3_BACKEND); files found by walking a directory never fail. True: named files as by
    default, and files found in a directory when they hold a backend that cannot be edited (a
    directory holds files without backends by nature). False: nothing fails.
    """
    if fail_on_untouched is False:
        return []
    failing = []
    for result in results:
        if result.explicit:
            kinds = NOT_EDITABLE + NO_S3_BACKEND
        else:
            kinds = NOT_EDITABLE if fail_on_untouched else ()
        failing.extend(entry for entry in result.untouched if entry["kind"] in kinds)
    return failing


def describe_failures(failing):
    """One message for the entries untouched_failures returns: each as file:line: reason."""
    places = []
    for entry in failing:
        where = entry["file"] if entry["line"] is None else "%s:%d" % (entry["file"], entry["line"])
        places.append("%s: %s" % (where, entry["reason"]))
    files = len(set(entry["file"] for entry in failing))
    return "%d file%s cannot be rewritten as asked: %s" % (files, "" if files == 1 else "s", "; ".join(places))
