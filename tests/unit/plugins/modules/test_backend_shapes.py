"""Backend shapes real repositories write, through backend_info, backend_hcl, the roots' resolver and the inventory:

- a backend that does not lock (lock mode none: ``endpoints.dynamodb`` without a table, an empty ``dynamodb_table``,
  an explicit ``use_lockfile = false``) stays so in every mode, and every reader calls it ``none``;
- ``*.tfvars`` partial configurations: named (in ``path`` or by ``-backend-config``) or called ``*backend*.tfvars``
  in a walked directory, never an ordinary variables file such as ``terraform.tfvars``;
- ``backend \u201cs3\u201d`` with typographic quotes, which terraform rejects: a failure naming file and line;
- a minified one-line ``*.tf.json`` stays minified;
- OpenTofu's ``*.tofu`` / ``*.tofu.json`` are walked like ``*.tf`` / ``*.tf.json`` (``x.tofu`` replaces ``x.tf``);
- Terragrunt's older ``lock_table`` in ``remote_state`` is the DynamoDB table.

Each rewritten text is read again by python-hcl2 (or ``json``); the real ``terraform fmt``'s checks of the same shapes
are tests/system/test_backend_shapes_terraform.py's.
"""

import json
import os

import hcl2
import pytest

from ansible_collections.tfstate.s3_backend.plugins.inventory.terraform_roots import root_hosts
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import discovery as disc
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import rewrite as backend_rewrite
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.root import resolve_root
from ansible_collections.tfstate.s3_backend.plugins.modules import backend_hcl, backend_info
from tests.testbed.collection import run_module

HCL2_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
TABLE = "given-locks"
MODES = (("lockfile", None), ("dual", TABLE), ("dynamodb", TABLE))


def block(*lines):
    return 'terraform {\n  backend "s3" {\n%s  }\n}\n' % "".join("    %s\n" % line for line in lines)


def write(top, rel, text):
    path = os.path.join(str(top), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(text.encode("utf-8"))
    return path


def read(path):
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8")


def hcl_backend(text):
    """The S3 backend settings python-hcl2 reads: a block's, a Terragrunt config's, or a flat file's."""
    loaded = hcl2.loads(text, serialization_options=HCL2_OPTIONS)
    if "terraform" in loaded:
        return loaded["terraform"][0]["backend"][0]["s3"]
    if "remote_state" in loaded:
        return loaded["remote_state"][0]["config"]
    return loaded


# ---------------------------------------------------------------------------------------------
# No locking stays no locking, and every reader says none
# ---------------------------------------------------------------------------------------------

UNLOCKED = {
    "endpoints/backend.tf": block('bucket = "b"', 'key    = "k"', 'endpoints = {', '  dynamodb = "http://ddb:8000"',
                                  '}'),
    "endpoints_block/backend.tf": block('bucket = "b"', 'key    = "k"', 'endpoints {', '  s3       = "http://s3"',
                                        '  dynamodb = "http://ddb:8000"', '}'),
    "endpoint_setting/backend.tf": block('bucket            = "b"', 'key               = "k"',
                                         'dynamodb_endpoint = "http://ddb:8000"'),
    "empty_table/backend.tf": block('bucket         = "b"', 'key            = "k"', 'dynamodb_table = ""'),
    "opt_out/backend.tf": block('bucket       = "b"', 'key          = "k"', 'use_lockfile = false'),
    "opt_out_string/backend.tf": block('bucket       = "b"', 'key          = "k"', 'use_lockfile = "false"'),
    "both_off/backend.tf": block('bucket         = "b"', 'key            = "k"', 'dynamodb_table = ""',
                                 'use_lockfile   = false'),
    "partial/prod.tfbackend": 'bucket       = "b"\nkey          = "k"\nuse_lockfile = false\n',
    "grunt/terragrunt.hcl": 'remote_state {\n  backend = "s3"\n  config = {\n    bucket         = "b"\n'
                            '    key            = "k"\n    dynamodb_table = ""\n  }\n}\n',
    "json/backend.tf.json": '{"terraform": {"backend": {"s3": {"bucket": "b", "key": "k", "use_lockfile": false, '
                            '"endpoints": {"dynamodb": "http://ddb:8000"}}}}}\n',
}


@pytest.fixture()
def unlocked(tmp_path):
    return {rel: write(tmp_path / "repo", rel, text) for rel, text in UNLOCKED.items()}


def test_backend_info_calls_every_unlocked_backend_none(tmp_path, unlocked):
    info = run_module(backend_info, dict(path=[str(tmp_path / "repo")]))
    assert sorted((b["file"], b["lock_mode"]) for b in info["backends"]) == sorted(
        (path, "none") for path in unlocked.values())
    assert info["lock_modes"] == {"dynamodb": 0, "dual": 0, "lockfile": 0, "none": len(UNLOCKED)}


@pytest.mark.parametrize("mode, table", MODES)
@pytest.mark.parametrize("named", [False, True], ids=["walked", "named"])
def test_no_locking_stays_no_locking_in_every_mode(tmp_path, unlocked, mode, table, named):
    paths = sorted(unlocked.values()) if named else [str(tmp_path / "repo")]
    result = run_module(backend_hcl, dict(path=paths, lock_mode=mode, dynamodb_table=table))
    assert "failed" not in result, result.get("msg")
    assert result["changed"] is False and result["changes"] == [] and result["files"] == []
    for rel, path in unlocked.items():
        assert read(path) == UNLOCKED[rel], rel          # nothing added, nothing removed (the endpoint neither)
        entries = [u for u in result["untouched"] if u["file"] == path]
        assert [u["kind"] for u in entries] == ["no_lock_settings"], rel
        assert "does not lock (lock mode none" in entries[0]["reason"], entries[0]
        assert "not turned on" in entries[0]["reason"]
    # read back through the other module: still none
    info = run_module(backend_info, dict(path=[str(tmp_path / "repo")]))
    assert set(b["lock_mode"] for b in info["backends"]) == {"none"}


def test_the_reason_says_what_keeps_the_backend_unlocked(tmp_path, unlocked):
    result = run_module(backend_hcl, dict(path=[str(tmp_path / "repo")], lock_mode="lockfile"))
    reasons = dict((u["file"], u["reason"]) for u in result["untouched"])
    assert "a DynamoDB endpoint without a table" in reasons[unlocked["endpoints/backend.tf"]]
    assert "dynamodb_table is empty" in reasons[unlocked["empty_table/backend.tf"]]
    assert "use_lockfile = false" in reasons[unlocked["opt_out/backend.tf"]]
    assert 'use_lockfile = "false"' in reasons[unlocked["opt_out_string/backend.tf"]]


def test_a_roots_files_follow_the_target_when_the_merged_configuration_locks(tmp_path):
    """The migrate role's rewrite: its preflight stopped roots that do not lock, so a partial configuration's
    use_lockfile = false that completes a block's dynamodb_table is set to true with the block's table removed."""
    root = tmp_path / "root"
    block_file = write(root, "backend.tf", block('region         = "eu-west-1"', 'dynamodb_table = "t"'))
    partial = write(root, "prod.tfbackend", 'bucket       = "b"\nkey          = "k"\nuse_lockfile = false\n')
    backend = resolve_root(str(root), ["-backend-config=prod.tfbackend"])
    assert backend["lock_mode"] == "dynamodb" and backend["config_files"] == [block_file, partial]
    alone = backend_rewrite.rewrite_paths(backend["config_files"], "lockfile")
    assert [(r.path, r.changed) for r in alone] == [(block_file, True), (partial, False)]   # merged: none after it
    results = backend_rewrite.rewrite_paths(backend["config_files"], "lockfile", leave_unlocked=False)
    assert [(r.path, r.changed) for r in results] == [(block_file, True), (partial, True)]
    for result in results:
        with open(result.path, "w") as handle:
            handle.write(result.after)
    assert hcl_backend(read(partial))["use_lockfile"] is True
    assert resolve_root(str(root), ["-backend-config=prod.tfbackend"])["lock_mode"] == "lockfile"


MIXED = {
    "dynamodb.tf": block('bucket         = "b"', 'key            = "k"', 'dynamodb_table = "t"'),
    "dual.tf": block('bucket         = "b"', 'key            = "k"', 'dynamodb_table = "t"', 'use_lockfile   = true'),
    "lockfile.tf": block('bucket       = "b"', 'key          = "k"', 'use_lockfile = true'),
    "lockfile_empty_table.tf": block('bucket         = "b"', 'dynamodb_table = ""', 'use_lockfile   = true'),
    "string_true.tf": block('bucket       = "b"', 'use_lockfile = "TRUE"'),
    "lock_table.hcl": 'remote_state {\n  backend = "s3"\n  config = {\n    bucket     = "b"\n'
                      '    lock_table = "old"\n  }\n}\n',
    "lock_table_in_a_block.tf": block('bucket     = "b"', 'lock_table = "not a terraform setting"'),
    "endpoints.tf": UNLOCKED["endpoints/backend.tf"],
    "opt_out.tf": UNLOCKED["opt_out/backend.tf"],
}


@pytest.mark.parametrize("mode, table", MODES)
def test_backend_info_and_backend_hcl_agree_on_every_lock_mode(tmp_path, mode, table):
    paths = [write(tmp_path, "%d/%s" % (index, name), text) for index, (name, text) in enumerate(sorted(MIXED.items()))]
    info = run_module(backend_info, dict(path=paths))
    seen = dict((b["file"], b["lock_mode"]) for b in info["backends"])
    assert len(seen) == len(paths)
    assert seen[paths[sorted(MIXED).index("lock_table.hcl")]] == "dynamodb"
    assert seen[paths[sorted(MIXED).index("lock_table_in_a_block.tf")]] == "none"
    result = run_module(backend_hcl, dict(path=paths, lock_mode=mode, dynamodb_table=table, fail_on_untouched=False),
                        check_mode=True)
    for change in result["changes"]:
        assert change["lock_mode_before"] == seen[change["file"]] != "none"
    for entry in result["untouched"]:
        assert (entry["kind"] == "no_lock_settings") == (seen[entry["file"]] == "none"), entry
        if entry["kind"] == "already":
            assert seen[entry["file"]] == mode
    assert len(result["changes"]) + len(result["untouched"]) == len(paths)


# ---------------------------------------------------------------------------------------------
# *.tfvars partial configurations
# ---------------------------------------------------------------------------------------------

BACKEND_TFVARS = 'bucket         = "acme-state"\nkey            = "app/terraform.tfstate"\nregion         = "eu-west-1"\n' \
                 'dynamodb_table = "acme-locks"\n'
VARIABLES = 'region         = "eu-west-1"\ndynamodb_table = "app-data"\n'   # a variables file with backend-like names


@pytest.fixture()
def tfvars_root(tmp_path):
    root = tmp_path / "app"
    write(root, "main.tf", 'terraform {\n  backend "s3" {}\n}\n')
    write(root, "backend.tfvars", BACKEND_TFVARS)
    write(root, "terraform.tfvars", VARIABLES)
    write(root, "envs/prod.tfvars", VARIABLES)
    return root


def test_a_backend_tfvars_is_found_in_a_walked_directory_and_a_variables_file_is_not(tfvars_root):
    info = run_module(backend_info, dict(path=[str(tfvars_root)]))
    found = dict((os.path.relpath(b["file"], str(tfvars_root)), b) for b in info["backends"])
    assert sorted(found) == ["backend.tfvars", "main.tf"]
    assert (found["backend.tfvars"]["form"], found["backend.tfvars"]["lock_mode"]) == ("partial", "dynamodb")
    assert found["main.tf"]["partial_config_files"] == [str(tfvars_root / "backend.tfvars")]
    assert found["main.tf"]["partial_configs"][0]["lock_mode"] == "dynamodb"


def test_a_backend_tfvars_with_a_variable_in_it_is_not_a_backend_when_walked(tmp_path):
    write(tmp_path, "backend.tfvars", BACKEND_TFVARS + 'instance_type  = "t3.micro"\n')
    assert run_module(backend_info, dict(path=[str(tmp_path)]))["backends"] == []


def test_a_named_tfvars_reads_like_a_tfbackend(tmp_path):
    tfvars = write(tmp_path, "vars/terraform.tfvars", VARIABLES + 'instance_type  = "t3.micro"\n')
    info = run_module(backend_info, dict(path=[tfvars]))
    assert [(b["form"], b["lock_mode"]) for b in info["backends"]] == [("partial", "dynamodb")]
    assert [n["kind"] for n in info["notes"]] == ["unknown_setting"]   # instance_type: Terraform refuses it


def test_a_tfvars_given_to_backend_config_completes_the_root(tfvars_root):
    backend = resolve_root(str(tfvars_root), ["-backend-config=backend.tfvars"])
    assert backend["settings"]["bucket"] == "acme-state" and backend["settings"]["dynamodb_table"] == "acme-locks"
    assert backend["lock_mode"] == "dynamodb"
    assert backend["config_files"] == [str(tfvars_root / "backend.tfvars")]


def test_the_inventory_makes_a_host_with_the_backend_tfvars(tfvars_root):
    hosts = dict(root_hosts(str(tfvars_root.parent), disc.scan_paths([str(tfvars_root.parent)])))
    assert list(hosts) == ["app"]
    assert hosts["app"]["tfstate_init_args"] == ["-backend-config=backend.tfvars"]
    assert (hosts["app"]["tfstate_lock_mode"], hosts["app"]["tfstate_dynamodb_table"]) == ("dynamodb", "acme-locks")


# ---------------------------------------------------------------------------------------------
# backend \u201cs3\u201d: terraform rejects it, the modules name file and line
# ---------------------------------------------------------------------------------------------

CURLY = 'terraform {\n  backend \u201cs3\u201d {\n    bucket         = "b"\n    key            = "k"\n' \
        '    dynamodb_table = "t"\n  }\n}\n'


def test_typographic_quotes_in_a_terragrunt_file_are_reported_too(tmp_path):
    path = write(tmp_path, "live/terragrunt.hcl", 'remote_state {\n  backend = \u201cs3\u201d\n  config = {}\n}\n')
    failures = run_module(backend_info, dict(path=[str(tmp_path)]))["failures"]
    assert [(f["file"], f["line"]) for f in failures] == [(path, 2)]


# ---------------------------------------------------------------------------------------------
# Minified JSON stays minified
# ---------------------------------------------------------------------------------------------

MINIFIED = '{"terraform":{"backend":{"s3":{"bucket":"b","key":"k","dynamodb_table":"t"}}}}'


@pytest.mark.parametrize("text, dual", [
    (MINIFIED, MINIFIED.replace('"t"}', '"t","use_lockfile":true}')),
    ('{"terraform":{"backend":{"s3":{"dynamodb_table":"t"}}}}',             # no comma anywhere to learn from
     '{"terraform":{"backend":{"s3":{"dynamodb_table":"t","use_lockfile":true}}}}'),
    ('{"terraform":[{"backend":[{"s3":[{"dynamodb_table":"t","bucket":"b"}]}]}]}',
     '{"terraform":[{"backend":[{"s3":[{"dynamodb_table":"t","use_lockfile":true,"bucket":"b"}]}]}]}'),
    ('{"terraform": {"backend": {"s3": {"bucket": "b", "dynamodb_table": "t"}}}}\n',
     '{"terraform": {"backend": {"s3": {"bucket": "b", "dynamodb_table": "t", "use_lockfile": true}}}}\n'),
    ('{"terraform":{"required_version":">= 1.10", "backend":{"s3":{"dynamodb_table":"t"}}}}',   # the file's ", "
     '{"terraform":{"required_version":">= 1.10", "backend":{"s3":{"dynamodb_table":"t", "use_lockfile":true}}}}'),
])
def test_a_one_line_json_file_keeps_its_separators(tmp_path, text, dual):
    path = write(tmp_path, "backend.tf.json", text)
    assert run_module(backend_hcl, dict(path=[path], lock_mode="dual"))["changed"] is True
    assert read(path) == dual
    assert json.loads(dual) == json.loads(text.replace('"t"', '"t", "use_lockfile": true', 1))
    assert run_module(backend_hcl, dict(path=[path], lock_mode="lockfile"))["changed"] is True
    assert read(path) == text.replace('"dynamodb_table"', '"use_lockfile"').replace(
        '"use_lockfile":"t"', '"use_lockfile":true').replace('"use_lockfile": "t"', '"use_lockfile": true')
    assert run_module(backend_hcl, dict(path=[path], lock_mode="dynamodb", dynamodb_table="t"))["changed"] is True
    assert read(path) == text


# ---------------------------------------------------------------------------------------------
# OpenTofu's file names
# ---------------------------------------------------------------------------------------------

TOFU = block('bucket         = "b"', 'key            = "tofu.tfstate"', 'region         = "eu-west-1"',
             'dynamodb_table = "t"')
TOFU_JSON = '{\n  "terraform": {\n    "backend": {\n      "s3": {\n        "bucket": "b",\n        "key": "j",\n' \
            '        "dynamodb_table": "t"\n      }\n    }\n  }\n}\n'


@pytest.fixture()
def tofu_roots(tmp_path):
    top = tmp_path / "roots"
    write(top, "tofu/main.tofu", TOFU)
    write(top, "tofu/variables.tofu", 'variable "x" {}\n')
    write(top, "json/backend.tofu.json", TOFU_JSON)
    write(top, "both/backend.tf", TOFU.replace("tofu.tfstate", "terraform.tfstate"))
    write(top, "both/backend.tofu", TOFU)
    return top


def test_tofu_files_are_walked_like_tf_files(tofu_roots):
    info = run_module(backend_info, dict(path=[str(tofu_roots)]))
    found = sorted((os.path.relpath(b["file"], str(tofu_roots)), b["form"], b["lock_mode"]) for b in info["backends"])
    assert found == [("both/backend.tf", "block", "dynamodb"), ("both/backend.tofu", "block", "dynamodb"),
                     ("json/backend.tofu.json", "json", "dynamodb"), ("tofu/main.tofu", "block", "dynamodb")]
    notes = [(os.path.relpath(n["file"], str(tofu_roots)), n["kind"]) for n in info["notes"]]
    assert notes == [("both/backend.tf", "tofu_override")]


def test_a_tofu_root_resolves_and_makes_a_host_and_x_tofu_replaces_x_tf(tofu_roots):
    backend = resolve_root(str(tofu_roots / "tofu"))
    assert (backend["file"], backend["lock_mode"]) == (str(tofu_roots / "tofu/main.tofu"), "dynamodb")
    assert resolve_root(str(tofu_roots / "json"))["settings"]["key"] == "j"
    both = resolve_root(str(tofu_roots / "both"))           # OpenTofu reads backend.tofu, not backend.tf
    assert (both["file"], both["settings"]["key"]) == (str(tofu_roots / "both/backend.tofu"), "tofu.tfstate")
    hosts = dict(root_hosts(str(tofu_roots), disc.scan_paths([str(tofu_roots)])))
    assert sorted(hosts) == ["both", "json", "tofu"]
    assert hosts["both"]["tfstate_backend"]["file"] == str(tofu_roots / "both/backend.tofu")


# ---------------------------------------------------------------------------------------------
# Terragrunt's lock_table
# ---------------------------------------------------------------------------------------------

LOCK_TABLE = 'remote_state {\n  backend = "s3"\n  config = {\n    bucket     = "state"\n    key        = "app"\n' \
             '    region     = "eu-west-1"\n    lock_table = "old-locks"\n  }\n}\n'
LOCK_TABLE_DUAL = LOCK_TABLE.replace('    lock_table = "old-locks"\n',
                                     '    lock_table   = "old-locks"\n    use_lockfile = true\n').replace(
    '    bucket     =', '    bucket       =').replace('    key        =', '    key          =').replace(
    '    region     =', '    region       =')
LOCK_TABLE_LOCKFILE = LOCK_TABLE.replace('    lock_table = "old-locks"\n', '    use_lockfile = true\n').replace(
    '    bucket     =', '    bucket       =').replace('    key        =', '    key          =').replace(
    '    region     =', '    region       =')


def test_lock_table_is_the_dynamodb_table(tmp_path):
    path = write(tmp_path, "live/app/terragrunt.hcl", LOCK_TABLE)
    info = run_module(backend_info, dict(path=[str(tmp_path)]))
    assert [(b["form"], b["lock_mode"]) for b in info["backends"]] == [("terragrunt", "dynamodb")]
    backend = resolve_root(os.path.dirname(path), terragrunt=True)
    assert (backend["lock_mode"], backend["settings"]["dynamodb_table"]) == ("dynamodb", "old-locks")
    hosts = dict(root_hosts(str(tmp_path), disc.scan_paths([str(tmp_path)])))
    assert hosts["live/app"]["tfstate_dynamodb_table"] == "old-locks"
    assert hosts["live/app"]["tfstate_lock_mode"] == "dynamodb"
    tfvars = write(tmp_path, "old/terraform.tfvars", 'terragrunt = {\n  remote_state {\n    backend = "s3"\n'
                                                     '    config {\n      bucket = "s"\n      lock_table = "t"\n'
                                                     '    }\n  }\n}\n')
    info = run_module(backend_info, dict(path=[tfvars]))
    assert [(b["form"], b["lock_mode"]) for b in info["backends"]] == [("terragrunt_tfvars", "dynamodb")]
