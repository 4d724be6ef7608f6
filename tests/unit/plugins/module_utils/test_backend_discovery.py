"""Finding S3 backends: forms, lock modes, traps, roots, and the cheap text scan before parsing."""

import codecs
import os

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import discovery
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import files as disc_files
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import settings as disc

BLOCK = 'terraform {\n  backend "s3" {\n    bucket         = "b"\n    key            = "k"\n    dynamodb_table = "t"\n  }\n}\n'


def write(root, rel, text, mode="w"):
    path = os.path.join(str(root), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as handle:
        handle.write(text)
    return path


def by_file(report):
    return dict((os.path.basename(b["file"]), b) for b in report["backends"])


def test_every_form_is_found(tmp_path):
    write(tmp_path, "a/backend.tf", BLOCK)
    write(tmp_path, "b/backend.tf.json",
          '{"terraform": [{"backend": [{"s3": [{"bucket": "b", "key": "k", "use_lockfile": true}]}]}]}')
    write(tmp_path, "c/dev.tfbackend", 'bucket = "b"\ndynamodb_table = "t"\n')
    write(tmp_path, "c/backend.hcl", 'bucket = "b"\nkey = "k"\n')
    write(tmp_path, "c/prod.conf", 'bucket = "b"\nuse_lockfile = true\n')
    write(tmp_path, "d/terragrunt.hcl", 'remote_state {\n  backend = "s3"\n  config = {\n    bucket = "b"\n'
                                        '    dynamodb_table = "t"\n    use_lockfile = true\n  }\n}\n')
    write(tmp_path, "e/root.hcl", 'remote_state = {\n  backend = "s3"\n  config = { bucket = "b" }\n}\n')
    write(tmp_path, "f/terragrunt.hcl", 'generate "backend" {\n  path = "backend.tf"\n  contents = <<EOF\n'
                                        'terraform {\n  backend "s3" {\n    key = "${path_relative_to_include()}"\n'
                                        '    dynamodb_table = "t"\n  }\n}\nEOF\n}\n')
    write(tmp_path, "g/terraform.tfvars", 'terragrunt = {\n  remote_state {\n    backend = "s3"\n    config {\n'
                                          '      dynamodb_table = "t"\n    }\n  }\n}\n')
    report = discovery.report([str(tmp_path)])
    forms = sorted((os.path.relpath(b["file"], str(tmp_path)), b["form"], b["lock_mode"], b["line"])
                   for b in report["backends"])
    assert forms == [
        ("a/backend.tf", "block", "dynamodb", 2),
        ("b/backend.tf.json", "json", "lockfile", 1),
        ("c/backend.hcl", "partial", "none", 1),
        ("c/dev.tfbackend", "partial", "dynamodb", 1),
        ("c/prod.conf", "partial", "lockfile", 1),
        ("d/terragrunt.hcl", "terragrunt", "dual", 1),
        ("e/root.hcl", "terragrunt", "none", 1),
        ("f/terragrunt.hcl", "terragrunt_generate", "dynamodb", 5),
        ("g/terraform.tfvars", "terragrunt_tfvars", "dynamodb", 2),
    ]
    assert report["lock_modes"] == {"dynamodb": 4, "dual": 1, "lockfile": 2, "none": 2}
    generated = [b for b in report["backends"] if b["form"] == "terragrunt_generate"][0]
    assert generated["settings"]["key"] == "${path_relative_to_include()}"
    assert generated["unresolved_settings"] == ["key"]


@pytest.mark.parametrize("settings, mode", [
    ('dynamodb_table = ""', "none"),
    ('use_lockfile = "true"', "lockfile"),
    ('use_lockfile = false\n    dynamodb_table = "t"', "dynamodb"),
    ('use_lockfile = true\n    dynamodb_table = "t"', "dual"),
    ('dynamodb_endpoint = "http://x"', "none"),
])
def test_lock_modes(tmp_path, settings, mode):
    write(tmp_path, "backend.tf", 'terraform {\n  backend "s3" {\n    %s\n  }\n}\n' % settings)
    assert discovery.report([str(tmp_path)])["backends"][0]["lock_mode"] == mode


def test_traps_are_notes_not_backends(tmp_path):
    write(tmp_path, "remote.tf", 'data "terraform_remote_state" "core" {\n  backend = "s3"\n  config = {\n'
                                 '    dynamodb_table = "t"\n  }\n}\n')
    write(tmp_path, "table.tf", 'terraform {\n  backend "s3" {}\n}\nresource "aws_dynamodb_table" "locks" {\n'
                                '  name = "t"\n}\n')
    write(tmp_path, "old.tf", '# terraform {\n#   backend "s3" {\n#     dynamodb_table = "t"\n#   }\n# }\n'
                              'terraform {\n  backend "local" {}\n}\n')
    write(tmp_path, "tpl/backend.tf", 'terraform {\n  backend "s3" {\n    bucket = "{{ bucket }}"\n  }\n}\n')
    write(tmp_path, "wrong/backend.tf", 'terraform {\n  backend "s3" {\n    aws_dynamodb_table = "t"\n  }\n}\n')
    report = discovery.report([str(tmp_path)])
    notes = sorted((os.path.relpath(n["file"], str(tmp_path)), n["line"], n["kind"]) for n in report["notes"])
    assert notes == [
        ("old.tf", 2, "commented_out"),
        ("old.tf", 7, "other_backend"),
        ("remote.tf", 1, "remote_state_data"),
        ("table.tf", 4, "lock_table_resource"),
        ("tpl/backend.tf", 2, "template"),
        ("wrong/backend.tf", 3, "unknown_setting"),
    ]
    backends = sorted(os.path.relpath(b["file"], str(tmp_path)) for b in report["backends"])
    assert backends == ["table.tf", "wrong/backend.tf"]


def test_terragrunt_locals_resolve_and_are_reported(tmp_path):
    write(tmp_path, "root.hcl", 'locals {\n  table = "locks"\n  region = local.other\n}\n'
                                'remote_state {\n  backend = "s3"\n  config = {\n    dynamodb_table = local.table\n'
                                '    region = local.region\n  }\n}\n')
    report = discovery.report([str(tmp_path)])
    backend = report["backends"][0]
    assert backend["settings"]["dynamodb_table"] == "locks"
    assert backend["settings"]["region"] == "local.region"
    assert backend["unresolved_settings"] == ["region"]
    assert [(n["line"], n["kind"]) for n in report["notes"]] == [(2, "local_reference")]


def test_failures_name_file_and_line_and_the_scan_goes_on(tmp_path):
    write(tmp_path, "a/backend.tf", 'terraform {\n  backend "s3" {\n    key = "open\n  }\n}\n')
    write(tmp_path, "b/backend.tf", BLOCK)
    write(tmp_path, "c/main.tf", 'resource "x" "y" {\n  broken = = 1\n')   # no backend: never parsed
    report = discovery.report([str(tmp_path)])
    assert report["failures"] == [{"file": os.path.join(str(tmp_path), "a/backend.tf"), "line": 3,
                                   "reason": "unterminated string"}]
    assert [b["file"] for b in report["backends"]] == [os.path.join(str(tmp_path), "b/backend.tf")]
    assert report["files_scanned"] == 3 and report["files_parsed"] == 2


def test_only_candidates_are_parsed(tmp_path):
    for i in range(20):
        write(tmp_path, "mod%d/main.tf" % i, 'resource "null_resource" "n" {}\n')
    write(tmp_path, "vars.tfvars", 'dynamodb_table = "not a backend"\n')
    write(tmp_path, "env.hcl", 'locals {\n  bucket = "x"\n}\n')
    write(tmp_path, "README.md", 'backend "s3" {}')
    report = discovery.report([str(tmp_path)])
    assert report["files_scanned"] == 22
    assert report["files_parsed"] == 1          # env.hcl mentions bucket = at line start
    assert report["backends"] == [] and report["failures"] == []


def test_walk_skips_tool_folders_and_excluded_paths(tmp_path):
    for rel in (".terraform/modules/m/backend.tf", ".git/x/backend.tf", "vendor/m/backend.tf",
                ".terragrunt-cache/a/backend.tf", "examples/demo/backend.tf", "live/backend.tf"):
        write(tmp_path, rel, BLOCK)
    report = discovery.report([str(tmp_path)], exclude=["examples/*"])
    assert [os.path.relpath(b["file"], str(tmp_path)) for b in report["backends"]] == ["live/backend.tf"]


def test_root_facts_required_version_and_partial_configs(tmp_path):
    write(tmp_path, "app/versions.tf", 'terraform {\n  required_version = ">= 1.5, < 1.10"\n}\n')
    write(tmp_path, "app/backend.tf", 'terraform {\n  backend "s3" {}\n}\n')
    write(tmp_path, "app/dev.tfbackend", 'bucket = "b-dev"\nkey = "k"\ndynamodb_table = "t"\n')
    write(tmp_path, "app/config/prod.tfbackend", 'bucket = "b-prod"\nkey = "k"\nuse_lockfile = true\n')
    write(tmp_path, "new/backend.tf", 'terraform {\n  required_version = "~> 1.11"\n' + BLOCK[len("terraform {\n"):])
    for paths in ([str(tmp_path)], [os.path.join(str(tmp_path), "app/backend.tf"),
                                    os.path.join(str(tmp_path), "new/backend.tf")]):
        backends = discovery.report(paths)["backends"]
        app = [b for b in backends if b["root"].endswith("app") and b["form"] == "block"][0]
        new = [b for b in backends if b["root"].endswith("new")][0]
        assert app["required_version"] == ">= 1.5, < 1.10"
        assert app["admits_use_lockfile"] == {"terraform": False, "opentofu": False}
        assert [os.path.relpath(p, str(tmp_path)) for p in app["partial_config_files"]] == [
            "app/config/prod.tfbackend", "app/dev.tfbackend"]
        assert [p["lock_mode"] for p in app["partial_configs"]] == ["lockfile", "dynamodb"]
        assert new["required_version"] == "~> 1.11" and new["admits_use_lockfile"]["terraform"] is True
        assert new["partial_config_files"] == []


def test_encodings_are_kept(tmp_path):
    write(tmp_path, "bom/backend.tf", codecs.BOM_UTF8 + BLOCK.encode("utf-8"), mode="wb")
    write(tmp_path, "latin/backend.tf", ("# caf\xe9\n" + BLOCK).encode("latin-1"), mode="wb")
    files = dict((os.path.basename(os.path.dirname(p)), disc_files.TextFile.read(p))
                 for p, _explicit in discovery.walk([str(tmp_path)]))
    assert files["bom"].bom and files["bom"].encoding == "utf-8"
    assert files["latin"].encoding == "latin-1"
    for text_file in files.values():
        assert text_file.encode(text_file.text) == text_file.data
    assert len(discovery.report([str(tmp_path)])["backends"]) == 2


def test_named_files_are_always_parsed_whatever_their_name(tmp_path):
    odd = write(tmp_path, "prod.backend-config", 'bucket = "b"\ndynamodb_table = "t"\n')
    assert discovery.report([str(tmp_path)])["backends"] == []
    backend = discovery.report([odd])["backends"][0]
    assert backend["form"] == "partial" and backend["lock_mode"] == "dynamodb"


PROVIDERS_MODULE = ('module "child" {\n  source = "./child"\n  providers = {\n    aws       = aws\n'
                    '    aws.child = aws.child\n  }\n}\n')


def test_a_providers_map_with_dotted_keys_no_longer_hides_the_backend(tmp_path):
    path = write(tmp_path, "main.tf", BLOCK + "\n" + PROVIDERS_MODULE)
    report = discovery.report([str(tmp_path)])
    assert report["failures"] == []
    assert [(b["file"], b["line"], b["lock_mode"]) for b in report["backends"]] == [(path, 2, "dynamodb")]
    assert report["notes"] == []


TERRAGRUNT_LOCALS = ('locals {\n  table  = "locks"\n  lock   = true\n  region = "eu-west-1"\n  parts  = ["a"]\n}\n'
                     'remote_state {\n  backend = "s3"\n  config = {\n%s  }\n}\n')


@pytest.mark.parametrize("config, settings, unresolved, local_line", [
    ('    dynamodb_table = "${local.table}"\n', {"dynamodb_table": "locks"}, [], 2),
    ('    dynamodb_table = "${ local.table }"\n', {"dynamodb_table": "locks"}, [], 2),
    ('    dynamodb_table = "${~local.table~}"\n', {"dynamodb_table": "locks"}, [], 2),
    ('    dynamodb_table = local.table\n', {"dynamodb_table": "locks"}, [], 2),
    # a template renders the bool local as a string, which use_lockfile reads as true (no note: not a table)
    ('    use_lockfile = "${local.lock}"\n', {"use_lockfile": "true"}, [], None),
    # a list local cannot be rendered: the template text, unresolved, still noted as the table's source
    ('    dynamodb_table = "${local.parts}"\n', {"dynamodb_table": "${local.parts}"}, ["dynamodb_table"], 5),
    # more than the local, an unknown local, not a local: the template text itself, unresolved
    ('    dynamodb_table = "${local.table}-x"\n', {"dynamodb_table": "${local.table}-x"}, ["dynamodb_table"], None),
    ('    dynamodb_table = "${local.nope}"\n', {"dynamodb_table": "${local.nope}"}, ["dynamodb_table"], None),
    ('    dynamodb_table = "${var.table}"\n', {"dynamodb_table": "${var.table}"}, ["dynamodb_table"], None),
])
def test_a_template_wrapping_one_local_reads_as_the_local(tmp_path, config, settings, unresolved, local_line):
    write(tmp_path, "root.hcl", TERRAGRUNT_LOCALS % config)
    report = discovery.report([str(tmp_path)])
    backend = report["backends"][0]
    assert backend["settings"] == settings
    assert backend["unresolved_settings"] == unresolved
    notes = [(n["kind"], n["line"]) for n in report["notes"]]
    assert notes == ([("local_reference", local_line)] if local_line else [])


def test_an_expression_key_in_a_terragrunt_config_is_noted(tmp_path):
    write(tmp_path, "terragrunt.hcl", 'remote_state {\n  backend = "s3"\n  config = {\n    bucket = "b"\n'
                                      '    (local.key_name) = "t"\n  }\n}\n')
    report = discovery.report([str(tmp_path)])
    assert report["backends"][0]["settings"] == {"bucket": "b"}
    assert [(n["kind"], n["line"]) for n in report["notes"]] == [("expression_setting", 5)]


# --- only regular files are read, bounded -------------------------------------------------------

def test_read_regular_reads_files_and_links_to_them(tmp_path):
    target = tmp_path / "real.tf"
    target.write_bytes(b"x" * 10)
    (tmp_path / "link.tf").symlink_to(target)
    assert disc_files.read_regular(str(tmp_path / "link.tf")) == b"x" * 10
    assert disc_files.read_regular(str(target), limit=10) == b"x" * 10


@pytest.mark.parametrize("make, reason", [
    (lambda p: p.symlink_to(p.parent / "missing.tf"), "dangling symbolic link (to "),
    (lambda p: p.symlink_to(p.name), "symbolic link loop"),
    (lambda p: p.symlink_to("/dev/zero"), "a character device, not a regular file"),
    (lambda p: os.mkfifo(str(p)), "a FIFO, not a regular file"),
    (lambda p: p.mkdir(), "a directory, not a regular file"),
    (lambda p: p.write_bytes(b"x" * 11), "11 bytes, more than the 10 bytes read from one file"),
])
def test_read_regular_refuses_what_is_not_a_small_regular_file(tmp_path, make, reason):
    path = tmp_path / "bad.tf"
    make(path)
    with pytest.raises(disc_files.UnreadableFile) as refused:
        disc_files.read_regular(str(path), limit=10)
    assert refused.value.path == str(path) and reason in refused.value.reason


def test_report_skips_and_names_unreadable_files_and_keeps_the_rest(tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    (good / "backend.tf").write_text('terraform {\n  backend "s3" {\n    bucket = "b"\n    key = "k"\n  }\n}\n')
    (good / "zero.tf").symlink_to("/dev/zero")
    (good / "loop.tf").symlink_to("loop.tf")
    found = discovery.report([str(tmp_path)])
    assert [b["settings"]["bucket"] for b in found["backends"]] == ["b"]
    assert sorted(os.path.basename(s["file"]) for s in found["skipped_files"]) == ["loop.tf", "zero.tf"]
    # The required_version scan of the root skips them too (it reads the root's .tf files itself).
    assert discovery.required_versions(str(good)) == ([], [
        {"file": str(good / "loop.tf"), "line": None, "reason": "symbolic link loop"},
        {"file": str(good / "zero.tf"), "line": None, "reason": "a character device, not a regular file"}])


@pytest.mark.parametrize("settings, unresolved, form, mode", [
    ({"dynamodb_table": "t"}, (), None, "dynamodb"),
    ({"dynamodb_table": ""}, (), None, "none"),
    ({"dynamodb_table": None, "use_lockfile": False}, (), None, "none"),
    ({"use_lockfile": "false"}, (), None, "none"),
    ({"use_lockfile": "True"}, (), None, "lockfile"),
    ({"endpoints": {"dynamodb": "http://d"}}, (), None, "none"),
    ({"dynamodb_endpoint": "http://d", "dynamodb_table": ""}, (), None, "none"),
    ({"use_lockfile": "local.flag"}, ("use_lockfile",), "terragrunt", "lockfile"),
    ({"dynamodb_table": "t", "use_lockfile": True}, (), None, "dual"),
    ({"lock_table": "t"}, (), None, "none"),                       # not a setting of terraform's backend
    ({"lock_table": "t"}, (), "terragrunt", "dynamodb"),          # Terragrunt's older name of the table
    ({"lock_table": "t", "use_lockfile": True}, (), "terragrunt_tfvars", "dual"),
    ({"lock_table": "t"}, (), "terragrunt_generate", "none"),     # a rendered backend block: terraform's names
    ({"dynamodb_table": "", "lock_table": "t"}, (), "terragrunt", "dynamodb"),
])
def test_settings_lock_mode_is_the_one_rule(settings, unresolved, form, mode):
    assert disc.settings_lock_mode(settings, unresolved, form) == mode


def test_file_kinds_of_opentofu_and_tfvars_names():
    assert [disc_files.file_kind(name) for name in ("main.tofu", "main.tofu.json", "MAIN.TOFU")] == ["tf", "tf_json", "tf"]
    assert [disc_files.file_kind(name) for name in ("terraform.tfvars", "backend.tfvars", "prod-backend.tfvars")] == [
        "tfvars", "tfvars_backend", "tfvars_backend"]
    assert disc_files.file_kind("terraform.tfvars", explicit=True) == "tfvars_partial"


def test_tofu_override_follows_opentofu(tmp_path):
    write(tmp_path, "main.tf", "")
    write(tmp_path, "main.tofu", "")
    write(tmp_path, "data.tf.json", "{}")
    assert disc_files.tofu_override(str(tmp_path / "main.tf")) == str(tmp_path / "main.tofu")
    assert disc_files.tofu_override(str(tmp_path / "data.tf.json")) is None
    assert disc_files.tofu_override("/x/a.tf.json", {"/x/a.tofu.json"}.__contains__) == "/x/a.tofu.json"
    assert disc_files.tofu_override("/x/a.tf", {"/x/a.tofu.json"}.__contains__) is None
