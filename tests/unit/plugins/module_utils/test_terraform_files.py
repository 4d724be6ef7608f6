"""Which files terraform loads from a root and the first byte it refuses (terraform_files).

The same samples run through the real terraform in tests/system/test_terraform_files.py.
"""

import codecs
import os

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import terraform_files as tf

VARIABLE = 'variable "v" {}\n'

# (name, file name, bytes, expected (line, offset, reason fragment) or None when terraform loads it)
SAMPLES = [
    ("utf16_bom", "x.tf", codecs.BOM_UTF16_LE + VARIABLE.encode("utf-16-le"),
     (1, 0, "UTF-16 (little-endian, with a byte order mark)")),
    ("utf16_be_bom", "x.tf", codecs.BOM_UTF16_BE + VARIABLE.encode("utf-16-be"),
     (1, 0, "UTF-16 (big-endian, with a byte order mark)")),
    ("utf16_no_bom", "x.tf", VARIABLE.encode("utf-16-le"), (1, 1, "a NUL byte")),
    ("binary", "x.tf", bytes(range(256)), (1, 0, "a NUL byte")),
    ("latin1_string", "x.tf", b'variable "v" {\n  default = "caf\xe9"\n}\n', (2, 31, "byte 0xE9, not UTF-8")),
    ("latin1_heredoc", "x.tf", b'variable "v" {\n  default = <<EOT\n caf\xe9 # x\n  EOT\n}\n',
     (3, 37, "byte 0xE9, not UTF-8")),
    ("latin1_in_template", "x.tf", b'variable "v" {\n  default = "${"caf\xe9"}"\n}\n', (2, 34, "not UTF-8")),
    ("control_in_code", "x.tf", b'variable "v" {\n  default = "ab" \x01\n}\n', (2, 32, "control character 0x01")),
    ("form_feed", "x.tf", b'variable "v" {}\n\x0c\n', (2, 16, "control character 0x0C")),
    ("late_bom", "x.tf", b'variable "v" {}\n\xef\xbb\xbf\n', (2, 16, "byte order mark (U+FEFF) after the start")),
    ("json_utf16", "x.tf.json", codecs.BOM_UTF16_LE + b'{"variable": {"v": {}}}'.decode().encode("utf-16-le"),
     (1, 0, "UTF-16")),
    ("json_utf8_bom", "x.tf.json", codecs.BOM_UTF8 + b'{"variable": {"v": {}}}', (1, 0, "UTF-8 byte order mark")),
    ("json_nul_in_string", "x.tf.json", b'{"variable": {"v": {"description": "a\x00b"}}}',
     (1, 37, "inside a JSON string")),
    # Loaded by terraform 1.11.4:
    ("utf8_bom", "x.tf", codecs.BOM_UTF8 + VARIABLE.encode(), None),
    ("latin1_comments", "x.tf", b'# caf\xe9\n/* \xe9 \x00 */\nvariable "v" {\n  default = "ab" // caf\xe9\n}\n', None),
    ("nul_in_string", "x.tf", b'variable "v" {\n  default = "a\x00b\x01c"\n}\n', None),
    ("nul_in_heredoc", "x.tf", b'variable "v" {\n  default = <<EOT\n a\x00b\n  EOT\n}\n', None),
    ("hash_in_string", "x.tf", b'variable "v" {\n  default = "a#b // c /* d"\n}\n', None),
    ("crlf", "x.tf", b'variable "v" {\r\n  default = "ab"\r\n}\r\n', None),
    ("utf8_text", "x.tf", u'variable "v" {\n  default = "caf\u00e9 \u2713"\n}\n'.encode("utf-8"), None),
    ("json_latin1_in_string", "x.tf.json", b'{"variable": {"v": {"description": "caf\xe9"}}}', None),
]


@pytest.mark.parametrize("name,filename,data,expected", SAMPLES, ids=[sample[0] for sample in SAMPLES])
def test_encoding_problem_names_the_first_refused_byte(name, filename, data, expected):
    problem = tf.encoding_problem(data, tf.syntax_of(filename))
    if expected is None:
        assert problem is None, problem
        return
    line, offset, reason = expected
    assert problem is not None
    assert (problem["line"], problem["offset"]) == (line, offset), problem
    assert reason in problem["reason"], problem


def test_a_string_escape_and_an_escaped_interpolation_do_not_end_a_string_early():
    data = b'variable "v" {\n  default = "a\\"#$${x}\xe9"\n}\n'
    assert tf.encoding_problem(data)["reason"] == "byte 0xE9, not UTF-8"
    # The comment after the string is still a comment.
    assert tf.encoding_problem(b'locals {\n  a = "x\\"" # caf\xe9\n}\n') is None


def test_an_interpolation_inside_a_heredoc_is_code():
    assert tf.encoding_problem(b'locals {\n  a = <<EOT\nx ${1 \x01} y\nEOT\n}\n')["reason"] == "control character 0x01"
    assert tf.encoding_problem(b'locals {\n  a = <<EOT\nx $${\x01} y\nEOT\n}\n') is None


def test_a_long_latin1_comment_is_no_problem_but_a_byte_after_it_is():
    data = b"# " + b"\xe9" * 200000 + b'\nvariable "v" {}\n'
    assert tf.encoding_problem(data) is None
    assert tf.encoding_problem(data + b"\xe9")["offset"] == len(data)


def _write(directory, name, data=VARIABLE.encode()):
    path = os.path.join(str(directory), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def test_loaded_files_are_the_ones_terraform_reads(tmp_path):
    for name in ("main.tf", "b.tf.json", "override.tf", "x_override.tf", "t.tftest.hcl", "tests/u.tftest.hcl",
                 "tests/v.tftest.json", "x.tofu", "y.tofu.json", ".hidden.tf", "backup.tf~", "#edit.tf#",
                 "UPPER.TF", "sub/mod.tf", "tests/notatest.tf", "vars.tfvars", "README.md"):
        _write(tmp_path, name)
    os.mkdir(str(tmp_path / "dir.tf"))
    os.symlink(str(tmp_path / "missing"), str(tmp_path / "dangling.tf"))
    names = [os.path.relpath(path, str(tmp_path)) for path in tf.loaded_files(str(tmp_path))]
    assert names == ["b.tf.json", "dangling.tf", "main.tf", "override.tf", "x_override.tf", "t.tftest.hcl",
                     "tests/u.tftest.hcl", "tests/v.tftest.json"]


def test_opentofu_also_loads_tofu_files_which_replace_their_tf_twin(tmp_path):
    for name in ("main.tf", "main.tofu", "net.tf.json", "net.tofu.json", "other.tf", "t.tofutest.hcl"):
        _write(tmp_path, name)
    names = [os.path.basename(path) for path in tf.loaded_files(str(tmp_path), tf.OPENTOFU)]
    assert names == ["main.tofu", "net.tofu.json", "other.tf", "t.tofutest.hcl"]


def test_load_problems_names_each_file_and_unreadable_ones(tmp_path):
    _write(tmp_path, "main.tf")
    bad = _write(tmp_path, "vars.tf", codecs.BOM_UTF16_LE + VARIABLE.encode("utf-16-le"))
    os.symlink(str(tmp_path / "missing"), str(tmp_path / "dangling.tf"))
    problems = tf.load_problems(tf.loaded_files(str(tmp_path)))
    assert [(p["file"], p["line"], p["offset"]) for p in problems] == [
        (str(tmp_path / "dangling.tf"), None, None), (bad, 1, 0)]
    assert "dangling symbolic link" in problems[0]["reason"]
