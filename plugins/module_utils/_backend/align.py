# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``terraform fmt`` alignment of the lines an edit touched (HCL only).

Pure Python, no Ansible imports. A group of consecutive one-line attributes keeps the style it
had (:class:`AlignStyle`): fmt-aligned groups are aligned again after the edit, groups aligned
on one shared column give new lines that column, ragged groups give new lines one space.
Trailing comments of fmt-aligned comment groups are aligned again; other comments keep their
column when the code before them moves.
"""

from collections import namedtuple

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import hcl_tree as hcl
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.splice import Splice, map_to_old, own_lines


class AlignStyle(namedtuple("AlignStyle", ("kind", "column"))):
    """How a group of lines is aligned: ``fmt`` (one column past the widest), ``column`` (one
    shared column, in ``column``) or ``ragged`` (no alignment)."""
    __slots__ = ()

    @classmethod
    def at(cls, column):
        return cls("column", column)


FMT = AlignStyle("fmt", None)
RAGGED = AlignStyle("ragged", None)


def _shared_style(styles):
    """The one style a set of styles agrees on, or RAGGED."""
    if len(styles) == 1:
        return next(iter(styles))
    return RAGGED


class _Line:
    """An attribute that sits alone on one line: where its name ends and its = is."""
    __slots__ = ("line", "indent", "name_end", "sep", "name_len")

    def __init__(self, line, indent, name_end, sep, name_len):
        self.line = line
        self.indent = indent
        self.name_end = name_end
        self.sep = sep
        self.name_len = name_len


def _one_line_entry(text, lines, item):
    """The _Line of an attribute alone on one line, else None."""
    if not isinstance(item, hcl.Item) or item.sep is None:
        return None
    where = own_lines(text, lines, item.start, item.end)
    if where is None or where[0] != where[1]:
        return None
    sep = text.index(item.sep, item.name_end, item.value.start)
    return _Line(where[0], item.start - lines.start(where[0]), item.name_end, sep, item.name_end - item.start)


def chains(text, lines, container):
    """terraform fmt's alignment groups: runs of consecutive one-line attributes."""
    result = []
    current = []
    for item in container.items:
        entry = _one_line_entry(text, lines, item)
        if entry is None or (current and entry.line != current[-1].line + 1):
            if current:
                result.append(current)
            current = [entry] if entry is not None else []
        else:
            current.append(entry)
    if current:
        result.append(current)
    return result


def chain_style(chain):
    """The AlignStyle of the ``=`` of one group."""
    widest = max(entry.name_len for entry in chain)
    columns = {entry.sep - entry.name_end + entry.name_len for entry in chain}
    if all(entry.sep - entry.name_end == widest - entry.name_len + 1 for entry in chain):
        return FMT
    if len(columns) == 1:
        return AlignStyle.at(columns.pop())
    return RAGGED


def trailing_comments(text, lines, comments):
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


def comment_chains(trailing):
    """Runs of consecutive lines with trailing comments."""
    result = []
    for line in sorted(trailing):
        if result and result[-1][-1] == line - 1:
            result[-1].append(line)
        else:
            result.append([line])
    return result


def comment_chain_style(lines, chain, trailing):
    """The AlignStyle of one group of trailing comments.

    A lone comment shows no alignment at all: it is ragged, so it keeps its distance to the code.
    """
    if len(chain) < 2:
        return RAGGED
    widest = max(trailing[line][0] - lines.start(line) for line in chain)
    columns = {trailing[line][1] - lines.start(line) for line in chain}
    if columns == {widest + 1}:
        return FMT
    if len(columns) == 1:
        return AlignStyle.at(columns.pop())
    return RAGGED


class Aligner:
    """Re-pads ``=`` and trailing comments of edited attribute groups, as terraform fmt would."""

    def __init__(self, old, new, placed):
        self.old = old          # the scans before and after the edit
        self.new = new
        self.placed = placed    # apply_splices' [(new start, new end, splice)]
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
        """The old lines a new line came from (empty for inserted lines)."""
        if new_line in self.origins:
            return self.origins[new_line]
        old = map_to_old(self.placed, self.new.lines.start(new_line))
        return set() if old is None else {self.old.lines.line_of(old)}

    def splices(self, pairs):
        """Alignment splices for ``[(old container, new container)]``: a backend's body, its endpoints object."""
        pads = {}
        for old_container, new_container in pairs:
            pads.update(self.pads(old_container, new_container))
        result = [Splice(entry.name_end, entry.sep, " " * pad, "align") for entry, pad in pads.values()]
        result.extend(self.comment_splices(pads))
        return result

    def _removed_next_to(self, old_members):
        """The old line ranges removed right next to a group's old lines."""
        return [(first, last) for first, last in self.removed
                if first - 1 in old_members or last + 1 in old_members]

    def pads(self, old_container, new_container):
        """line -> (entry, spaces before its =) for the edited alignment groups of one container."""
        style_of = {}
        for chain in chains(self.old.text, self.old.lines, old_container):
            style = chain_style(chain)
            for entry in chain:
                style_of[entry.line] = style
        pads = {}
        for chain in chains(self.new.text, self.new.lines, new_container):
            old_members = set().union(*[self.origin(entry.line) for entry in chain])
            next_to = self._removed_next_to(old_members)
            if not next_to and not any(entry.line in self.origins for entry in chain):
                continue
            involved = set(old_members)
            for first, last in next_to:
                involved.update(range(first, last + 1))
            styles = {style_of[line] for line in involved if line in style_of}
            for entry, pad in self._chain_targets(chain, styles or {FMT}):
                if entry.sep - entry.name_end != pad:
                    pads[entry.line] = (entry, pad)
        return pads

    def _chain_targets(self, chain, styles):
        """``[(entry, spaces before its =)]`` for an edited group whose old lines had ``styles``."""
        style = _shared_style(styles)
        if style == FMT:
            widest = max(entry.name_len for entry in chain)
            return [(entry, widest - entry.name_len + 1) for entry in chain]
        if style.kind == "column":
            return [(entry, max(1, style.column - entry.name_len)) for entry in chain if entry.line in self.origins]
        return []  # ragged: new lines keep the spacing of the setting they sit next to

    def _moved_lines(self, shift):
        """New lines whose code moved: re-padded, new values, new lines, or next to removed lines."""
        moved = set(shift) | self.value_lines | set(self.origins)
        for first, last in self.removed:
            for line in range(1, self.new.lines.count + 1):
                if self.origin(line) & {first - 1, last + 1}:
                    moved.add(line)
        return moved

    def comment_splices(self, pads):
        """Trailing comments on lines whose code moved keep their group's style."""
        old, new = self.old, self.new
        old_trailing = trailing_comments(old.text, old.lines, old.comments)
        old_style = {}
        for chain in comment_chains(old_trailing):
            style = comment_chain_style(old.lines, chain, old_trailing)
            for line in chain:
                old_style[line] = style
        new_trailing = trailing_comments(new.text, new.lines, new.comments)
        shift = {line: pad - (entry.sep - entry.name_end) for line, (entry, pad) in pads.items()}
        moved = self._moved_lines(shift)
        result = []
        for chain in comment_chains(new_trailing):
            if not set(chain) & moved:
                continue
            styles = {old_style.get(o, RAGGED) for line in chain for o in (self.origin(line) or [None])}
            ends = {line: new_trailing[line][0] - new.lines.start(line) + shift.get(line, 0) for line in chain}
            style = _shared_style(styles)
            if style == FMT:
                column = max(ends.values()) + 1
            elif style.kind == "column":
                column = style.column
            else:
                continue  # ragged comments keep their distance to the code
            for line in chain:
                code_end, comment = new_trailing[line]
                spaces = max(1, column - ends[line])
                if comment - code_end != spaces:
                    result.append(Splice(code_end, comment, " " * spaces, "align"))
        return result
