"""The span-keeping HCL and JSON parsers: spans, values, strictness and error lines."""

import json

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils import backend_hcl_syntax as hcl
from ansible_collections.tfstate.s3_backend.plugins.module_utils import backend_json_syntax as hjson


def error_line(text, **kwargs):
    with pytest.raises(hcl.HclSyntaxError) as info:
        hcl.parse(text, **kwargs)
    return hcl.LineIndex(text).line_of(info.value.offset), info.value


def test_spans_point_at_the_original_text():
    text = 'terraform {\n  backend "s3" {\n    bucket = "b" # c\n    use_lockfile = true\n  }\n}\n'
    parsed = hcl.parse(text)
    backend = parsed.body.blocks("terraform")[0].body.blocks("backend")[0]
    assert backend.labels == ["s3"]
    bucket, lockfile = backend.body.attributes()
    assert text[bucket.start:bucket.end] == 'bucket = "b"'
    assert text[bucket.value.start:bucket.value.end] == '"b"'
    assert bucket.value.python_value() == "b"
    assert lockfile.value.python_value() is True
    assert [text[c.start:c.end] for c in parsed.comments] == ["# c"]


def test_values_literal_or_source():
    text = ('a = "x${var.y}z"\nb = -3\nc = { k = "v", "q" : 1 }\nd = [1, "two", null]\ne = local.x\n'
            'f = upper("s")\ng = 1.5e2\n')
    items = dict((item.name, item.value) for item in hcl.parse(text).body.attributes())
    assert items["a"].kind == "template" and not items["a"].is_literal
    assert items["b"].python_value() == -3
    assert items["c"].python_value() == {"k": "v", "q": 1}
    assert items["d"].python_value() == [1, "two", None]
    assert not items["e"].is_literal and not items["f"].is_literal
    assert items["g"].python_value() == 150.0


def test_string_escapes_decode():
    parsed = hcl.parse('a = "q\\"\\\\ $${x} %%{y} \\u00e9"\n')
    assert parsed.body.attributes()[0].value.python_value() == 'q"\\ ${x} %{y} \u00e9'


def test_crlf_tabs_and_no_final_newline():
    text = 'terraform {\r\n\tbackend "s3" {\r\n\t\tkey = "k"\r\n\t}\r\n}'
    parsed = hcl.parse(text)
    assert parsed.body.blocks()[0].body.blocks()[0].body.attributes()[0].value.python_value() == "k"
    lines = hcl.LineIndex(text)
    assert lines.newline(1) == "\r\n" and lines.newline(5) == ""
    assert text[lines.start(3):lines.content_end(3)] == '\t\tkey = "k"'


def test_heredoc_content_span_and_indented_form():
    text = 'a = <<-EOF\n    x = "${y}"\n  EOF\nb = 1\n'
    parsed = hcl.parse(text)
    heredoc = parsed.body.attributes()[0].value
    _literal, start, end, indented = heredoc.token.value
    assert indented and text[start:end] == '    x = "${y}"\n'
    assert parsed.body.attributes()[1].name == "b"


def test_template_mode_reads_terragrunt_generate_contents():
    text = 'key = "${path_relative_to_include()}/x"\ntags = ${jsonencode(local.tags)}\n'
    parsed = hcl.parse(text, template=True)
    assert [item.name for item in parsed.body.attributes()] == ["key", "tags"]
    with pytest.raises(hcl.TemplateDirective):
        hcl.parse('%{ if x }\na = 1\n%{ endif }\n', template=True)


def test_hcl1_nested_blocks_in_objects_only_when_asked():
    text = 'terragrunt = {\n  remote_state {\n    backend = "s3"\n    config {\n      bucket = "b"\n    }\n  }\n}\n'
    parsed = hcl.parse(text, hcl1=True)
    remote = parsed.body.attributes()[0].value.items[0]
    assert remote.name == "remote_state" and remote.block
    assert remote.value.items[1].value.python_value() == {"bucket": "b"}
    line, _error = error_line(text)
    assert line == 2


@pytest.mark.parametrize("text, line, words", [
    ('terraform {\n  backend "s3" {\n    bucket = "b"\n  }\n', 1, "never closed"),
    ('a = 1\nb = "open\nc = 2\n', 2, "unterminated string"),
    ('x = "${env.}"\n', 1, "attribute name after ."),
    ('a = 1 b = 2\n', 1, "newline"),
    ('a = 1\na = 2\n', 2, "defined twice"),
    ('a = "\\q"\n', 1, "escape"),
    ('/* open\na = 1\n', 1, "unterminated /*"),
    ('a = <<EOF\nnever closed\n', 1, "never closed"),
    ('a = (1 +\n', 2, "expected an expression"),
])
def test_errors_name_the_line(text, line, words):
    found, error = error_line(text)
    assert found == line
    assert words in error.message


def test_template_placeholders_are_reported_as_templates():
    with pytest.raises(hcl.TemplateDirective):
        hcl.parse('terraform {\n  backend "s3" {\n    {{if .X}}key = "k"{{end}}\n  }\n}\n')
    with pytest.raises(hcl.TemplateDirective):
        hcl.parse('terraform {\n  %{ if a }\n  x = 1\n  %{ endif }\n}\n')


def test_expressions_parse():
    text = ('a = var.x == "y" ? [for i in var.l : upper(i) if i != ""] : {for k, v in m : k => v...}\n'
            'b = data.x.y[0].z[*].w\nc = provider::aws::arn_parse("a").region\nd = !true && (1 + 2 * 3 >= 4)\n'
            'e = [\n  1,\n  2,\n]\nf = f(\n  a,\n  b...\n)\n')
    assert len(hcl.parse(text).body.attributes()) == 6


def test_render_value_escapes_interpolation():
    assert hcl.render_value(True) == "true"
    assert hcl.render_value('t"${x}') == '"t\\"$${x}"'
    parsed = hcl.parse("a = %s\n" % hcl.render_value('t"${x}%{y}\n'))
    assert parsed.body.attributes()[0].value.python_value() == 't"${x}%{y}\n'


def test_json_spans_and_values_match_json_loads():
    text = '{\n  "terraform": [{"backend": [{"s3": [{"bucket":"b", "n": -1.5e1, "x": [true, null]}]}]}]\n}'
    root = hjson.parse(text)
    assert root.python_value() == json.loads(text)
    s3 = root.items[0].value.items[0].items[0].value.items[0].items[0].value.items[0]
    bucket = s3.items[0]
    assert text[bucket.start:bucket.end] == '"bucket":"b"' and bucket.sep == ":"


@pytest.mark.parametrize("text", ['{"a": 1,}', '{"a" 1}', '{"a": "x', '[1 2]', '{"a": 1} x', "{'a': 1}"])
def test_json_errors(text):
    with pytest.raises(hcl.HclSyntaxError):
        hjson.parse(text)
