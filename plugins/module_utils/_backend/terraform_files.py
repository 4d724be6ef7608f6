# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which files ``terraform init`` loads from a root, and whether it can load them. No Ansible imports.

Measured with Terraform 1.11.4 (``terraform init`` and ``terraform validate``; the unit and
integration tests run the real binary on the same samples):

- loaded: the root's own ``*.tf`` and ``*.tf.json`` (``override.tf``, ``*_override.tf`` too), and
  the test files ``*.tftest.hcl``/``*.tftest.json`` of the root and of its ``tests/`` directory;
  not subdirectories, not names starting with ``.``, ending with ``~`` or ``#...#``, not ``*.TF``
  (names are case-sensitive), not directories; ``*.tofu``/``*.tofu.json`` only by OpenTofu, where
  ``x.tofu`` replaces ``x.tf``;
- native syntax (``.tf``): UTF-8, a leading UTF-8 byte order mark allowed; comments may hold any
  bytes; strings and heredocs may hold control characters but not invalid UTF-8; outside them a
  NUL, a control character or a byte order mark is an "Invalid character";
- JSON (``.tf.json``): no byte order mark at all (not even UTF-8's); control characters are
  refused in strings too, invalid UTF-8 inside a string is not;
- a file that cannot be read (a dangling link) fails too.

So a UTF-16 file (with or without a byte order mark) or binary data stops ``terraform init``,
while a Latin-1 comment does not. :func:`load_problems` finds the first such byte of each file.
"""

import codecs
import itertools
import os
import re

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.files import (
    UnreadableFile,
    read_regular,
    tofu_override,
)

TERRAFORM = "terraform"
OPENTOFU = "opentofu"
TEST_DIRECTORY = "tests"

_CONFIG_SUFFIXES = {TERRAFORM: (".tf", ".tf.json"), OPENTOFU: (".tf", ".tf.json", ".tofu", ".tofu.json")}
_TEST_SUFFIXES = {TERRAFORM: (".tftest.hcl", ".tftest.json"),
                  OPENTOFU: (".tftest.hcl", ".tftest.json", ".tofutest.hcl", ".tofutest.json")}
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32 (little-endian, with a byte order mark)"),
    (codecs.BOM_UTF32_BE, "UTF-32 (big-endian, with a byte order mark)"),
    (codecs.BOM_UTF16_LE, "UTF-16 (little-endian, with a byte order mark)"),
    (codecs.BOM_UTF16_BE, "UTF-16 (big-endian, with a byte order mark)"),
)
# Bytes that are never text outside a string: C0 controls but tab, LF and CR; DEL; U+FEFF.
_CONTROL = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xef\xbb\xbf")
_JSON_OUTSIDE = re.compile(b"[^\t\n\r\x20-\x7e]")
_JSON_INSIDE = re.compile(b"[\x00-\x1f]")
_UTF8_RUN = re.compile(
    b"(?:[\x00-\x7f]|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    b"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    b"|\xf4[\x80-\x8f][\x80-\xbf]{2})+")
_HEREDOC = re.compile(rb"<<-?([A-Za-z_][A-Za-z0-9_-]*)\r?\n")
_CODE_STOP = re.compile(rb'[#/"<{}]')
_STRING_STOP = re.compile(rb'[\\"\n$%]')
CODE, STRING, COMMENT = 0, 1, 2


def is_ignored(name):
    """Whether terraform skips a file name in a configuration directory (editor and hidden files)."""
    return name.startswith(".") or name.endswith("~") or (name.startswith("#") and name.endswith("#"))


def _listed(directory, suffixes):
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [os.path.join(directory, name) for name in names
            if name.endswith(suffixes) and not is_ignored(name) and not os.path.isdir(os.path.join(directory, name))]


def loaded_files(root, product=TERRAFORM):
    """The paths of the files ``terraform init`` (or ``tofu init``) reads from ``root``, sorted."""
    product = product if product in _CONFIG_SUFFIXES else TERRAFORM
    config = _listed(root, _CONFIG_SUFFIXES[product])
    if product == OPENTOFU:
        # OpenTofu reads x.tofu instead of x.tf (and x.tofu.json instead of x.tf.json).
        present = set(config)
        config = [path for path in config if tofu_override(path, present.__contains__) is None]
    tests = _listed(root, _TEST_SUFFIXES[product]) + _listed(os.path.join(root, TEST_DIRECTORY),
                                                             _TEST_SUFFIXES[product])
    return sorted(config) + sorted(tests)


def _invalid_utf8(data, start=0):
    """Offsets of the bytes that are not UTF-8, in order (linear: one regex step per valid run)."""
    try:
        data[start:].decode("utf-8")
        return
    except UnicodeDecodeError:
        pass
    position = start
    while position < len(data):
        run = _UTF8_RUN.match(data, position)
        if run:
            position = run.end()
        else:
            yield position
            position += 1


def _native_contexts(data):
    """A bytearray: for each byte of native-syntax ``data``, CODE, STRING (strings, heredocs) or COMMENT."""
    ctx = bytearray(len(data))
    # Each entry: [kind, brace depth or heredoc marker]; "interp" is code inside ${ } or %{ }.
    stack = [["code", 0]]
    i, n = 0, len(data)
    line_start = True
    while i < n:
        kind = stack[-1][0]
        if kind in ("code", "interp"):
            i, line_start = _code_step(data, i, stack, ctx, line_start)
        elif kind == "string":
            i = _string_step(data, i, stack, ctx)
        else:
            i, line_start = _heredoc_step(data, i, stack, ctx, line_start)
    return ctx


def _code_step(data, i, stack, ctx, line_start):
    """From ``i`` in code: past the next comment, string or heredoc start, or brace; ``(i, line_start)``."""
    n = len(data)
    match = _CODE_STOP.search(data, i)
    if not match:
        return n, line_start
    i = match.start()
    char = data[i:i + 1]
    if char == b"#" or data.startswith(b"//", i):
        end = data.find(b"\n", i)
        end = n if end < 0 else end
        ctx[i:end] = bytes([COMMENT]) * (end - i)
        return end, line_start
    if data.startswith(b"/*", i):
        end = data.find(b"*/", i + 2)
        end = n if end < 0 else end + 2
        ctx[i:end] = bytes([COMMENT]) * (end - i)
        return end, line_start
    if char == b'"':
        ctx[i] = STRING
        stack.append(["string", 0])
        return i + 1, line_start
    if char == b"<":
        heredoc = _HEREDOC.match(data, i)
        if heredoc:
            stack.append(["heredoc", heredoc.group(1)])
            return heredoc.end(), True
        return i + 1, line_start
    if char == b"{":
        stack[-1][1] += 1
    elif stack[-1][0] == "interp" and stack[-1][1] == 0:  # the "}" closing ${ or %{
        stack.pop()
    else:
        stack[-1][1] = max(0, stack[-1][1] - 1)
    return i + 1, line_start


def _string_step(data, i, stack, ctx):
    """From ``i`` in a quoted string: past its text to the next escape, interpolation or its end."""
    n = len(data)
    match = _STRING_STOP.search(data, i)
    end = match.start() if match else n
    ctx[i:end] = bytes([STRING]) * (end - i)
    i = end
    if i >= n:
        return i
    char = data[i:i + 1]
    if char == b"\\":
        ctx[i:i + 2] = bytes([STRING]) * len(data[i:i + 2])
        return i + 2
    if char in (b'"', b"\n"):
        ctx[i] = STRING
        stack.pop()
        return i + 1
    if data.startswith((b"$${", b"%%{"), i):
        ctx[i:i + 3] = bytes([STRING]) * 3
        return i + 3
    if data.startswith((b"${", b"%{"), i):
        stack.append(["interp", 0])
        return i + 2
    ctx[i] = STRING
    return i + 1


def _heredoc_step(data, i, stack, ctx, line_start):
    """From ``i`` in a heredoc, line by line: its closing marker, or text up to an interpolation."""
    n = len(data)
    end = data.find(b"\n", i)
    end = n if end < 0 else end + 1
    line = data[i:end]
    if line_start and line.strip() == stack[-1][1]:
        stack.pop()
        return end, line_start
    interp = -1
    for opener in (b"${", b"%{"):
        found = line.find(opener)
        while found > 0 and line[found - 1:found] == opener[:1]:
            found = line.find(opener, found + 1)
        if found >= 0 and (interp < 0 or found < interp):
            interp = found
    if interp >= 0:
        ctx[i:i + interp] = bytes([STRING]) * interp
        stack.append(["interp", 0])
        return i + interp + 2, False
    ctx[i:end] = bytes([STRING]) * (end - i)
    return end, True


def _json_contexts(data):
    """A bytearray: STRING for the bytes of JSON strings (quotes included), CODE elsewhere."""
    ctx = bytearray(len(data))
    i, n = 0, len(data)
    while i < n:
        start = data.find(b'"', i)
        if start < 0:
            break
        j = start + 1
        while j < n:
            char = data[j:j + 1]
            if char == b"\\":
                j += 2
                continue
            if char == b'"':
                break
            j += 1
        end = min(n, j + 1)
        ctx[start:end] = bytes([STRING]) * (end - start)
        i = end
    return ctx


def _describe_byte(data, offset):
    value = data[offset]
    if data.startswith(b"\xef\xbb\xbf", offset):
        return "a byte order mark (U+FEFF) after the start of the file"
    if value == 0:
        return "a NUL byte (binary data, or UTF-16 without a byte order mark)"
    if value < 0x20 or value == 0x7F:
        return "control character 0x%02X" % value
    return "byte 0x%02X, not UTF-8" % value


def _problem(data, offset, reason):
    return {"offset": offset, "line": data.count(b"\n", 0, offset) + 1, "reason": reason}


def encoding_problem(data, syntax="native"):
    """The first byte terraform refuses in a file's ``data``: ``{offset, line, reason}``, or None.

    ``syntax``: ``native`` (``.tf``, ``.tftest.hcl``) or ``json`` (``.tf.json``).
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return _problem(data, 0, "%s, not UTF-8" % name)
    if syntax == "json":
        if data.startswith(codecs.BOM_UTF8):
            return _problem(data, 0, "a UTF-8 byte order mark, which terraform refuses in JSON configuration")
        outside = _JSON_OUTSIDE.search(data)
        inside = _JSON_INSIDE.search(data)
        if outside is None and inside is None:
            return None
        ctx = _json_contexts(data)
        for match in _JSON_OUTSIDE.finditer(data):
            if ctx[match.start()] == CODE:
                return _problem(data, match.start(), _describe_byte(data, match.start()))
        for match in _JSON_INSIDE.finditer(data):
            if ctx[match.start()] == STRING:
                return _problem(data, match.start(), "%s inside a JSON string" % _describe_byte(data, match.start()))
        return None
    start = 3 if data.startswith(codecs.BOM_UTF8) else 0
    invalid = _invalid_utf8(data, start)
    first_invalid = next(invalid, None)
    first_control = _CONTROL.search(data, start)
    if first_invalid is None and first_control is None:
        return None
    ctx = _native_contexts(data)
    bad = None
    if first_invalid is not None:
        # Any byte that is not UTF-8 outside a comment.
        for offset in itertools.chain([first_invalid], invalid):
            if ctx[offset] != COMMENT:
                bad = (offset, "byte 0x%02X, not UTF-8" % data[offset])
                break
    for match in _CONTROL.finditer(data, start):
        offset = match.start()
        if ctx[offset] == CODE:
            if bad is None or offset < bad[0]:
                bad = (offset, _describe_byte(data, offset))
            break
    if bad is None:
        return None
    return _problem(data, bad[0], bad[1])


def syntax_of(path):
    return "json" if path.endswith(".json") else "native"


def load_problems(paths):
    """``[{file, line, offset, reason}]`` for the files among ``paths`` that terraform cannot load."""
    problems = []
    for path in paths:
        try:
            data = read_regular(path)
        except UnreadableFile as exc:
            problems.append({"file": path, "line": None, "offset": None, "reason": exc.reason})
            continue
        problem = encoding_problem(data, syntax_of(path))
        if problem:
            problem["file"] = path
            problems.append(problem)
    return problems
