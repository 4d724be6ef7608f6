"""The span-keeping HCL and JSON parsers: spans, values, strictness and error lines."""

import json

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import hcl_syntax as hcl
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import hcl_tokens
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import hcl_tree
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import json_syntax as hjson


def error_line(text, **kwargs):
    with pytest.raises(hcl_tokens.HclSyntaxError) as info:
        hcl.parse(text, **kwargs)
    return hcl_tokens.LineIndex(text).line_of(info.value.offset), info.value


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
    lines = hcl_tokens.LineIndex(text)
    assert lines.newline(1) == "\r\n" and lines.newline(5) == ""
    assert text[lines.start(3):lines.content_end(3)] == '\t\tkey = "k"'


def test_heredoc_content_span_and_indented_form():
    text = 'a = <<-EOF\n    x = "${y}"\n  EOF\nb = 1\n'
    parsed = hcl.parse(text)
    heredoc = parsed.body.attributes()[0].value
    body = heredoc.token.heredoc
    assert body.indented and text[body.start:body.end] == '    x = "${y}"\n'
    assert heredoc.token.text == "EOF" and heredoc.token.value is None  # an interpolation: no literal value
    assert parsed.body.attributes()[1].name == "b"


def test_template_mode_reads_terragrunt_generate_contents():
    text = 'key = "${path_relative_to_include()}/x"\ntags = ${jsonencode(local.tags)}\n'
    parsed = hcl.parse(text, template=True)
    assert [item.name for item in parsed.body.attributes()] == ["key", "tags"]
    with pytest.raises(hcl_tokens.TemplateDirective):
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
    with pytest.raises(hcl_tokens.TemplateDirective):
        hcl.parse('terraform {\n  backend "s3" {\n    {{if .X}}key = "k"{{end}}\n  }\n}\n')
    with pytest.raises(hcl_tokens.TemplateDirective):
        hcl.parse('terraform {\n  %{ if a }\n  x = 1\n  %{ endif }\n}\n')


def test_expressions_parse():
    text = ('a = var.x == "y" ? [for i in var.l : upper(i) if i != ""] : {for k, v in m : k => v...}\n'
            'b = data.x.y[0].z[*].w\nc = provider::aws::arn_parse("a").region\nd = !true && (1 + 2 * 3 >= 4)\n'
            'e = [\n  1,\n  2,\n]\nf = f(\n  a,\n  b...\n)\n')
    assert len(hcl.parse(text).body.attributes()) == 6


def test_render_value_escapes_interpolation():
    assert hcl_tree.render_value(True) == "true"
    assert hcl_tree.render_value('t"${x}') == '"t\\"$${x}"'
    parsed = hcl.parse("a = %s\n" % hcl_tree.render_value('t"${x}%{y}\n'))
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
    with pytest.raises(hcl_tokens.HclSyntaxError):
        hjson.parse(text)


# ----------------------------------------------------------------------------------------------
# HCL 2 native syntax forms, each proven valid or invalid by terraform itself (test below)
# ----------------------------------------------------------------------------------------------

# (id, text, valid): object keys, splats, for expressions, template directives, expansion, conditionals,
# index and attribute chains; the invalid ones are the near misses a lenient parser would let through.
HCL2_FORMS = [
    ("providers-dotted-keys", 'module "m" {\n  source = "./m"\n  providers = {\n    aws       = aws.parent\n'
                              '    aws.child = aws.child\n  }\n}\n', True),
    ("dotted-key-inline", 'x = { aws.child = aws.child, b = 1 }\n', True),
    ("dotted-key-three-steps", 'x = { a.b.c = 1 }\n', True),
    ("dotted-key-nested-object", 'x = { a = { b.c = 1 } }\n', True),
    ("index-key", 'x = { var.a[0] = 1, a["k"].b = 2 }\n', True),
    ("legacy-index-key", 'x = { a.0 = 1 }\n', True),
    ("splat-key", 'x = { a.* = 1 }\n', True),
    ("paren-key", 'x = { (var.a) = 1, (b): 2 }\n', True),
    ("template-key", 'x = { "${var.a}-x" = 1 }\n', True),
    ("call-key", 'x = { upper("a") = 1 }\n', True),
    ("conditional-key", 'x = { var.a ? "x" : "y" = 1 }\n', True),
    ("operator-keys", 'x = { -a = 1, !b = 2, c + d = 3 }\n', True),
    ("number-and-keyword-keys", 'x = { 1 = "a", true = 2 }\n', True),
    ("colon-separators", 'x = { a: 1, b: c ? d : e }\n', True),
    ("for-as-a-later-key", 'x = { a = 1, for = 2 }\n', True),
    ("mixed-keys-multiline", 'x = {\n  # c\n  a.b = 1 # t\n  "c" = 2\n  (d) = 3\n  e.f[0] = 4,\n}\n', True),
    ("quoted-dotted-key", 'x = { "a.b" = 1 }\n', True),
    ("for-as-first-key", 'x = { for = 1 }\n', False),
    ("dotted-key-split-by-newline", 'x = {\n  a.b\n  = 1\n}\n', False),
    ("dotted-keys-without-separator", 'x = { a.b = 1 c = 2 }\n', False),
    ("two-word-key", 'x = { a b = 1 }\n', False),
    ("splats", 'a = x[*].b[0].c\nb = x.*.b.0\nc = x[*].*\nd = x.*[0]\ne = x.*.b[0].*.c\nf = x[*][*]\n', True),
    ("nested-attribute-splat", 'x = a.*.*\n', False),
    ("chained-legacy-index", 'x = a.0.1\n', False),
    ("for-expressions", 'a = [for k, v in m : v if k != "x"]\nb = {for k, v in m : k => v... if v != null}\n'
                        'c = {\n  for k, v in m :\n  k => v\n}\nd = [ for s in l : s.name ]\n', True),
    ("tuple-for-with-key", 'x = [for i in l : i => i]\n', False),
    ("object-for-without-key", 'x = {for i in l : i}\n', False),
    ("tuple-for-grouping", 'x = [for i in l : i...]\n', False),
    ("string-directives", 'a = "%{ if x }y%{ else }n%{ endif }"\nb = "%{~ for i in l ~}${i}%{~ endfor ~}"\n'
                          'c = "%{ for a in b }%{ if a }x%{ endif }%{ endfor }"\nd = "%{ for k, v in m }x%{ endfor }"\n',
     True),
    ("heredoc-directives", 'x = <<EOT\n%{ for ip in ips ~}\nserver ${ip}\n%{ endfor ~}\n%{ if a }x%{ else }y%{ endif }\n'
                           '%%{ literal } $${literal}\nEOT\ny = <<-EOT\n  %{ if a }\n  z\n  %{ endif }\n  EOT\n', True),
    ("directive-in-nested-string", 'x = "${"%{ if a }x%{ endif }"}"\n', True),
    ("if-never-closed", 'x = "%{ if a }yes"\n', False),
    ("endif-without-if", 'x = "%{ endif }"\n', False),
    ("for-never-closed", 'x = "%{ for i in l }${i}"\n', False),
    ("two-else", 'x = "%{ if a }x%{ else }y%{ else }z%{ endif }"\n', False),
    ("crossed-directives", 'x = "%{ for a in b }%{ if a }x%{ endfor }%{ endif }"\n', False),
    ("else-in-for", 'x = "%{ for x in y }%{ else }%{ endfor }"\n', False),
    ("heredoc-if-never-closed", 'x = <<EOT\n%{ if a }x\nEOT\n', False),
    ("nested-string-if-never-closed", 'x = "${"%{ if a }x"}"\n', False),
    ("expansion", 'a = f(l...)\nb = f(a, l...)\nc = f(a,)\n', True),
    ("expansion-not-last", 'x = f(l..., a)\n', False),
    ("conditionals", 'a = x ? y : z ? v : w\nb = (x ? y : z).d\nc = [\n  x\n  ? 1\n  : 2\n]\n', True),
    ("index-and-attribute-chains", 'a = [1, 2][0]\nb = {a = 1}.a\nc = f(x).y[0]["z"]\nd = "abc"[0]\n'
                                   'e = a.b.*.c[0]\nf = a .b\ng = a[0].1\n', True),
    ("attribute-on-next-line", 'x = a\n.b\n', False),
    ("operator-on-next-line", 'x = a\n  + 1\n', False),
]


@pytest.mark.parametrize("text, valid", [case[1:] for case in HCL2_FORMS], ids=[case[0] for case in HCL2_FORMS])
def test_hcl2_forms(text, valid):
    if valid:
        hcl.parse(text)
    else:
        with pytest.raises(hcl_tokens.HclSyntaxError):
            hcl.parse(text)


def test_expression_keys_have_no_name_and_keep_their_span():
    text = 'x = {\n  aws       = aws.parent\n  aws.child = aws.child\n  "q" = 1\n  (k) = 2\n}\n'
    obj = hcl.parse(text).body.attribute("x").value
    assert [item.name for item in obj.items] == ["aws", None, "q", None]
    assert [text[item.start:item.name_end] for item in obj.items] == ["aws", "aws.child", '"q"', "(k)"]
    assert [text[item.value.start:item.value.end] for item in obj.items] == ["aws.parent", "aws.child", "1", "2"]
    assert not obj.is_literal  # an expression key: the object's keys are not known without evaluation
    assert hcl.parse('x = { a = 1, "b" = 2 }\n').body.attribute("x").value.python_value() == {"a": 1, "b": 2}


@pytest.mark.parametrize("text, line, words", [
    ('x = 1\ny = "%{ if a }yes"\n', 2, "never closed"),
    ('x = <<EOT\nok\n%{ endfor }\nEOT\n', 3, "without an open"),
    ('x = "%{ if a }%{ else }%{ else }%{ endif }"\n', 1, "second"),
    ('x = a.0.1\n', 1, "[0][1]"),
    ('x = a.*.*\n', 1, "splat"),
    ('x = {\n  a.b\n  = 1\n}\n', 2, "expected = or :"),
])
def test_new_errors_name_the_line(text, line, words):
    found, error = error_line(text)
    assert found == line
    assert words in error.message
