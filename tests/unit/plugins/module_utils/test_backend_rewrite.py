"""Lock-mode edits spliced into the original text: exact expected bytes for the hard layouts."""

import codecs
import json

import hcl2
import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import files as disc_files
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import scanner
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import hcl_tree
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import rewrite as rw


def rewrite(text, mode, name="backend.tf", table=None, data=None):
    text_file = disc_files.TextFile(name, data if data is not None else text.encode("utf-8"))
    kind = disc_files.file_kind(name, explicit=True)
    return rw.rewrite_scan(scanner.scan_text(name, text_file, kind), kind, mode, dynamodb_table=table)


def after(text, mode, **kwargs):
    return rewrite(text, mode, **kwargs).after


def block(body, indent="    "):
    return 'terraform {\n  backend "s3" {\n%s  }\n}\n' % "".join(indent + line + "\n" for line in body)


FMT = block(['bucket         = "b"', 'key            = "k"', 'dynamodb_table = "t"', 'encrypt        = true'])


def test_lockfile_takes_the_table_line_and_fmt_alignment_follows():
    assert after(FMT, "lockfile") == block(
        ['bucket       = "b"', 'key          = "k"', 'use_lockfile = true', 'encrypt      = true'])


def test_dual_adds_the_lockfile_after_the_table_and_then_lockfile_gives_the_same_bytes():
    dual = after(FMT, "dual")
    assert dual == block(['bucket         = "b"', 'key            = "k"', 'dynamodb_table = "t"',
                          'use_lockfile   = true', 'encrypt        = true'])
    assert after(dual, "lockfile") == after(FMT, "lockfile")
    assert not rewrite(dual, "dual").changed


def test_rollback_puts_the_table_where_the_lockfile_was():
    lockfile = after(FMT, "lockfile")
    assert after(lockfile, "dynamodb", table="t") == FMT
    skipped = rewrite(lockfile, "dynamodb")
    assert not skipped.changed and skipped.untouched[0]["kind"] == "needs_table"


def test_unaligned_and_extra_space_groups_keep_their_style():
    ragged = block(['bucket = "b"', 'profile = "p"', 'dynamodb_table = "t"'])
    assert after(ragged, "lockfile") == block(['bucket = "b"', 'profile = "p"', 'use_lockfile = true'])
    wide = block(['bucket                = "b"', 'dynamodb_table        = "t"'])
    assert after(wide, "lockfile") == block(['bucket                = "b"', 'use_lockfile          = true'])
    tight = 'bucket="b"\ndynamodb_table="t"\n'
    assert after(tight, "lockfile", name="x.tfbackend") == 'bucket="b"\nuse_lockfile=true\n'


def test_comments_on_removed_lines_go_and_others_stay():
    text = block(['# the table', 'dynamodb_table = "t" # lock here', 'dynamodb_endpoint = "http://d" /* old */',
                  '// keep', 'bucket = "b"'])
    assert after(text, "lockfile") == block(['# the table', 'use_lockfile = true', '// keep', 'bucket = "b"'])


def test_fmt_aligned_comments_are_aligned_again():
    text = block(['bucket         = "b"     # bucket', 'dynamodb_table = "table" # table', 'key            = "k"'])
    assert after(text, "lockfile") == block(['bucket       = "b" # bucket', 'use_lockfile = true',
                                             'key          = "k"'])
    column = block(['bucket         = "b"        # bucket', 'dynamodb_table = "table"    # table'])
    assert after(column, "lockfile") == block(['bucket       = "b"          # bucket', 'use_lockfile = true'])


def test_crlf_tabs_and_missing_final_newline_are_kept():
    text = 'terraform {\r\n\tbackend "s3" {\r\n\t\tbucket = "b"\r\n\t\tdynamodb_table = "t"\r\n\t}\r\n}'
    assert after(text, "lockfile") == \
        'terraform {\r\n\tbackend "s3" {\r\n\t\tbucket = "b"\r\n\t\tuse_lockfile = true\r\n\t}\r\n}'
    assert after(text, "dual") == \
        'terraform {\r\n\tbackend "s3" {\r\n\t\tbucket = "b"\r\n\t\tdynamodb_table = "t"\r\n' \
        '\t\tuse_lockfile = true\r\n\t}\r\n}'


def test_last_line_without_newline_in_a_partial_file():
    text = 'bucket         = "b"\ndynamodb_table = "t"'
    assert after(text, "lockfile", name="x.tfbackend") == 'bucket       = "b"\nuse_lockfile = true'
    assert after(text, "dual", name="x.tfbackend") == 'bucket         = "b"\ndynamodb_table = "t"\nuse_lockfile   = true'
    both = 'bucket = "b"\nuse_lockfile = true\ndynamodb_table = "t"'
    assert after(both, "lockfile", name="x.tfbackend") == 'bucket = "b"\nuse_lockfile = true'


def test_bom_and_latin1_bytes_round_trip():
    data = codecs.BOM_UTF8 + FMT.encode("utf-8")
    result = rewrite(None, "lockfile", data=data)
    assert result.file.encode(result.after) == codecs.BOM_UTF8 + after(FMT, "lockfile").encode("utf-8")
    latin = ("# caf\xe9\n" + FMT).encode("latin-1")
    result = rewrite(None, "lockfile", data=latin)
    assert result.file.encode(result.after) == ("# caf\xe9\n" + after(FMT, "lockfile")).encode("latin-1")


def test_use_lockfile_is_written_as_a_bool():
    text = block(['dynamodb_table = "t"', 'use_lockfile   = "true"'])
    assert after(text, "lockfile") == block(['use_lockfile = true'])
    text = block(['use_lockfile = false', 'dynamodb_table = "t"'])
    assert after(text, "dual") == block(['use_lockfile = true', 'dynamodb_table = "t"'])
    loaded = hcl2.loads(after(text, "lockfile"), serialization_options=hcl2.SerializationOptions(
        strip_string_quotes=True, explicit_blocks=False))
    assert loaded["terraform"][0]["backend"][0]["s3"]["use_lockfile"] is True


@pytest.mark.parametrize("endpoints, expected", [
    (['endpoints = {', '  s3       = "http://s3"', '  dynamodb = "http://d"', '}'],
     ['endpoints = {', '  s3 = "http://s3"', '}']),
    (['endpoints = {', '  dynamodb = "http://d"', '}'], []),
    (['endpoints = { s3 = "http://s3", dynamodb = "http://d" }'], ['endpoints = { s3 = "http://s3" }']),
    (['endpoints = { dynamodb = "http://d", s3 = "http://s3" }'], ['endpoints = { s3 = "http://s3" }']),
    (['endpoints {', '  dynamodb = "http://d"', '  sts = "http://sts"', '}'],
     ['endpoints {', '  sts = "http://sts"', '}']),
])
def test_dynamodb_endpoints_are_removed(endpoints, expected):
    text = block(['dynamodb_table = "t"'] + endpoints)
    assert after(text, "lockfile") == block(['use_lockfile = true'] + expected)


def test_terragrunt_objects_inline_and_with_commas():
    text = 'remote_state {\n  backend = "s3"\n  config = { bucket = "b", dynamodb_table = "t", key = "k" }\n}\n'
    assert after(text, "lockfile", name="terragrunt.hcl") == \
        'remote_state {\n  backend = "s3"\n  config = { bucket = "b", use_lockfile = true, key = "k" }\n}\n'
    assert after(text, "dual", name="terragrunt.hcl") == \
        'remote_state {\n  backend = "s3"\n  config = { bucket = "b", dynamodb_table = "t", use_lockfile = true, ' \
        'key = "k" }\n}\n'
    commas = 'remote_state {\n  backend = "s3"\n  config = {\n    bucket = "b",\n    dynamodb_table = "t",\n  }\n}\n'
    assert after(commas, "dual", name="terragrunt.hcl") == \
        'remote_state {\n  backend = "s3"\n  config = {\n    bucket = "b",\n    dynamodb_table = "t",\n' \
        '    use_lockfile = true,\n  }\n}\n'


def test_terragrunt_local_is_reported_not_edited():
    text = ('locals {\n  lock_table = "t"\n}\nremote_state {\n  backend = "s3"\n  config = {\n'
            '    bucket         = "b"\n    dynamodb_table = local.lock_table\n  }\n}\n')
    result = rewrite(text, "lockfile", name="root.hcl")
    assert result.after == text.replace('    bucket         = "b"\n    dynamodb_table = local.lock_table\n',
                                        '    bucket       = "b"\n    use_lockfile = true\n')
    assert [(entry["line"], entry["name"]) for entry in result.locals] == [(2, "lock_table")]
    assert "no longer referenced" in result.locals[0]["message"]


def test_json_forms():
    text = '{\n  "terraform": {\n    "backend": {\n      "s3": {\n        "bucket": "b",\n' \
           '        "dynamodb_table": "t"\n      }\n    }\n  }\n}\n'
    lockfile = after(text, "lockfile", name="backend.tf.json")
    assert lockfile == text.replace('"dynamodb_table": "t"', '"use_lockfile": true')
    dual = after(text, "dual", name="backend.tf.json")
    assert dual == text.replace('"dynamodb_table": "t"\n', '"dynamodb_table": "t",\n        "use_lockfile": true\n')
    assert after(dual, "lockfile", name="backend.tf.json") == lockfile
    rollback = after(lockfile, "dynamodb", name="backend.tf.json", table="t")
    assert rollback == text
    inline = '{"terraform": [{"backend": [{"s3": [{"dynamodb_table":"t","bucket":"b"}]}]}]}'
    assert json.loads(after(inline, "dual", name="b.tf.json")) == json.loads(
        '{"terraform": [{"backend": [{"s3": [{"dynamodb_table":"t","use_lockfile":true,"bucket":"b"}]}]}]}')
    assert after(inline, "lockfile", name="b.tf.json") == inline.replace('"dynamodb_table":"t"', '"use_lockfile":true')


def test_single_line_block_cannot_take_a_second_setting():
    text = 'terraform {\n  backend "s3" { dynamodb_table = "t" }\n}\n'
    assert after(text, "lockfile") == 'terraform {\n  backend "s3" { use_lockfile = true }\n}\n'
    result = rewrite(text, "dual")
    assert not result.changed and result.untouched[0]["kind"] == "layout"


@pytest.mark.parametrize("text, kind", [
    (block(['bucket = "b"']), "no_lock_settings"),
    (block(['region = var.region', 'dynamodb_table = "t"']), "expression"),
    (block(['use_lockfile = true']), "already"),
    ('data "terraform_remote_state" "x" {\n  backend = "s3"\n  config = {\n    dynamodb_table = "t"\n  }\n}\n',
     "remote_state_data"),
    (block(['dynamodb_table = "{{ table }}"']), "template"),
    ('terraform {\n  backend "s3" {\n    dynamodb_table = "t\n  }\n}\n', "parse_error"),
])
def test_untouched_files_say_why_with_a_line(text, kind):
    result = rewrite(text, "lockfile")
    assert not result.changed
    assert [entry["kind"] for entry in result.untouched] == [kind]
    assert isinstance(result.untouched[0]["line"], int)


def test_a_verification_failure_names_file_and_line(monkeypatch):
    def broken(backend, ops):
        return {"bucket": "something else"}
    monkeypatch.setattr(rw, "expected_settings", broken)
    with pytest.raises(rw.RewriteError) as info:
        rewrite(FMT, "lockfile")
    assert info.value.path == "backend.tf" and info.value.line == 2
    assert "reads back" in info.value.reason


def test_an_edit_that_breaks_the_syntax_is_refused(monkeypatch):
    monkeypatch.setattr(hcl_tree, "render_value", lambda value: '"unterminated')
    with pytest.raises(rw.RewriteError) as info:
        rewrite(FMT, "lockfile")
    assert "does not parse" in info.value.reason and info.value.line == 5


# ----------------------------------------------------------------------------------------------
# Realignment after an entry leaves an aligned map (terraform fmt's own check: tests/system/test_terraform_fmt.py)
# ----------------------------------------------------------------------------------------------

def test_realignment_bytes_of_an_endpoints_map():
    text = block(['dynamodb_table = "t"', 'endpoints = {', '  s3       = "http://s3" # s3', '  dynamodb = "http://d"  # d',
                  '  sts      = "http://sts"', '}'])
    assert after(text, "lockfile") == block(['use_lockfile = true', 'endpoints = {', '  s3  = "http://s3" # s3',
                                             '  sts = "http://sts"', '}'])
    # a map that was not aligned before keeps its spacing
    ragged = block(['dynamodb_table = "t"', 'endpoints = {', '  s3 = "http://s3"', '  dynamodb    = "http://d"', '}'])
    assert after(ragged, "lockfile") == block(['use_lockfile = true', 'endpoints = {', '  s3 = "http://s3"', '}'])


def test_template_wrapping_a_local_is_removed_and_the_local_reported():
    text = ('locals {\n  lock_table = "t"\n}\nremote_state {\n  backend = "s3"\n  config = {\n'
            '    bucket         = "b"\n    dynamodb_table = "${local.lock_table}"\n  }\n}\n')
    result = rewrite(text, "lockfile", name="root.hcl")
    assert result.after == text.replace('    bucket         = "b"\n    dynamodb_table = "${local.lock_table}"\n',
                                        '    bucket       = "b"\n    use_lockfile = true\n')
    assert [(entry["line"], entry["name"]) for entry in result.locals] == [(2, "lock_table")]
    assert result.changes[0]["lock_mode_before"] == "dynamodb"


def test_a_backend_beside_a_providers_map_is_rewritten():
    providers = ('module "child" {\n  source = "./child"\n  providers = {\n    aws       = aws\n'
                 '    aws.child = aws.child\n  }\n}\n')
    result = rewrite(FMT + "\n" + providers, "lockfile", name="main.tf")
    assert result.untouched == []
    assert result.after == after(FMT, "lockfile") + "\n" + providers


def test_a_backend_with_an_expression_key_is_left_untouched():
    text = 'remote_state {\n  backend = "s3"\n  config = {\n    (local.k) = "x"\n    dynamodb_table = "t"\n  }\n}\n'
    result = rewrite(text, "lockfile", name="terragrunt.hcl")
    assert not result.changed
    assert [(entry["kind"], entry["line"]) for entry in result.untouched] == [("expression", 1)]
    assert "line 4" in result.untouched[0]["reason"]


# ----------------------------------------------------------------------------------------------
# Which untouched files fail the task (fail_on_untouched)
# ----------------------------------------------------------------------------------------------

def _tree(tmp_path):
    """A named directory and named files: each file's path by what it holds."""
    files = {
        "broken": 'terraform {\n  backend "s3" {\n    key = "k\n  }\n}\n',
        "reader": 'data "terraform_remote_state" "x" {\n  backend = "s3"\n  config = {\n    bucket = "b"\n  }\n}\n',
        "done": block(['use_lockfile = true']),
        "plain": block(['bucket = "b"']),
        "todo": FMT,
    }
    paths = {}
    for name, text in files.items():
        for where in ("named", "walked"):
            path = tmp_path / where / name / "backend.tf"
            path.parent.mkdir(parents=True)
            path.write_text(text)
            paths[(where, name)] = str(path)
    lock = tmp_path / "named" / ".terraform.lock.hcl"
    lock.write_text('provider "registry.terraform.io/hashicorp/aws" {\n  version = "5.0.0"\n}\n')
    paths[("named", "lock")] = str(lock)
    named = [paths[key] for key in sorted(paths) if key[0] == "named"]
    return paths, named + [str(tmp_path / "walked")]


def test_untouched_failures_named_files_by_default_walked_files_when_asked(tmp_path):
    paths, arguments = _tree(tmp_path)
    results = rw.rewrite_paths(arguments, "lockfile")
    by_default = [(e["file"], e["kind"]) for e in rw.untouched_failures(results)]
    assert sorted(by_default) == sorted([
        (paths[("named", "broken")], "parse_error"),
        (paths[("named", "lock")], "no_backend"),
        (paths[("named", "reader")], "remote_state_data"),
    ])
    forced = [(e["file"], e["kind"]) for e in rw.untouched_failures(results, True)]
    assert sorted(forced) == sorted(by_default + [(paths[("walked", "broken")], "parse_error")])
    assert rw.untouched_failures(results, False) == []
    # already migrated and lock-less backends never fail: a second run of a migration stays green
    kinds = dict((e["file"], e["kind"]) for r in results for e in r.untouched)
    assert kinds[paths[("named", "done")]] == "already" and kinds[paths[("named", "plain")]] == "no_lock_settings"
    message = rw.describe_failures(rw.untouched_failures(results))
    assert message.startswith("3 files cannot be rewritten as asked: ")
    assert "%s:3: cannot parse: unterminated string" % paths[("named", "broken")] in message
    assert "%s: a .terraform.lock.hcl file holds no backend settings" % paths[("named", "lock")] in message


@pytest.mark.parametrize("mode, table, kind", [("dual", None, "needs_table"), ("lockfile", None, "template")])
def test_a_named_file_with_a_backend_that_cannot_be_edited_fails(tmp_path, mode, table, kind):
    text = FMT.replace('"t"', '"{{ table }}"') if kind == "template" else block(['use_lockfile = true'])
    path = tmp_path / "backend.tf"
    path.write_text(text)
    results = rw.rewrite_paths([str(path)], mode, dynamodb_table=table)
    assert [(e["kind"], e["line"]) for e in rw.untouched_failures(results)] == [(kind, 2)]
