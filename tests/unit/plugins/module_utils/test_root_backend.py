"""root_backend.resolve_root: a root's effective backend from its files and -backend-config arguments."""

import json
import os

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.root import (
    RootError,
    parse_init_args,
    resolve_root,
)

BLOCK = 'terraform {\n  backend "s3" {\n%s  }\n}\n'


def write(root, name, text):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def block(**settings):
    return BLOCK % "".join("    %s = %s\n" % (name, json.dumps(value)) for name, value in settings.items())


def test_a_complete_block_gives_its_settings_lock_mode_and_file(tmp_path):
    path = write(tmp_path, "backend.tf", block(bucket="b", key="k", region="eu-west-1", dynamodb_table="t",
                                               encrypt=True))
    write(tmp_path, "versions.tf", 'terraform {\n  required_version = ">= 1.10.1"\n}\n')
    backend = resolve_root(str(tmp_path))
    assert (backend["root"], backend["file"], backend["line"], backend["form"]) == (str(tmp_path), path, 2, "block")
    assert backend["settings"] == {"bucket": "b", "key": "k", "region": "eu-west-1", "dynamodb_table": "t",
                                   "use_lockfile": False, "workspace_key_prefix": None, "encrypt": True,
                                   "kms_key_id": None, "profile": None}
    assert backend["lock_mode"] == "dynamodb" and backend["config_files"] == [path]
    assert backend["required_version"] == ">= 1.10.1" and backend["initialised"] is None
    assert backend["unresolved_settings"] == [] and backend["parse_warnings"] == []


def test_partial_files_and_pairs_complete_the_block_and_the_file_with_lock_settings_is_edited(tmp_path):
    write(tmp_path, "backend.tf", block(region="eu-west-1"))
    partial = write(tmp_path, "envs/prod.tfbackend", 'bucket = "b"\nkey = "k"\ndynamodb_table = "t"\n')
    backend = resolve_root(str(tmp_path), ["-backend-config=envs/prod.tfbackend", "-backend-config=use_lockfile=true",
                                           "-reconfigure"])
    assert backend["partial_config_files"] == [partial] and backend["config_files"] == [partial]
    assert (backend["settings"]["bucket"], backend["settings"]["use_lockfile"]) == ("b", True)
    assert backend["lock_mode"] == "dual"
    # Where each lock setting is: the partial configuration's line, the init arguments.
    assert backend["setting_lines"] == {"dynamodb_table": partial + ":3",
                                        "use_lockfile": "-backend-config=use_lockfile=... (init arguments)"}


def test_a_lock_setting_in_the_block_is_placed_on_its_line(tmp_path):
    path = write(tmp_path, "backend.tf", block(bucket="b", key="k", dynamodb_table="t"))
    assert resolve_root(str(tmp_path))["setting_lines"] == {"dynamodb_table": path + ":5"}


def test_the_last_init_is_read_from_dot_terraform(tmp_path):
    write(tmp_path, "backend.tf", block(bucket="b", key="k", use_lockfile=True))
    write(tmp_path, ".terraform/terraform.tfstate", json.dumps(
        {"backend": {"type": "s3", "config": {"bucket": "b", "key": "k", "dynamodb_table": "t"}}}))
    backend = resolve_root(str(tmp_path))
    assert backend["lock_mode"] == "lockfile" and backend["initialised_lock_mode"] == "dynamodb"


@pytest.mark.parametrize("files, args, message", [
    ({}, [], "no backend \"s3\" block in the .tf, .tf.json, .tofu or .tofu.json files of {root}"),
    ({"a.tf": block(bucket="b", key="k"), "b.tf": block(bucket="b", key="k")}, [],
     "several backend \"s3\" blocks in {root}: {root}/a.tf:2, {root}/b.tf:2 (Terraform allows one)"),
    ({"backend.tf": block(region="r")}, [],
     "{root}/backend.tf:2: the backend has no bucket (not in the block, the -backend-config files or arguments)"),
    ({"backend.tf": BLOCK % '    bucket = var.b\n    key = "k"\n'}, [],
     "{root}/backend.tf:2: backend settings bucket are not literal values"),
    ({"backend.tf": block(bucket="b", key="k")}, ["-backend-config=missing.tfbackend"],
     "terraform init argument -backend-config=missing.tfbackend names a file that does not exist: "
     "{root}/missing.tfbackend"),
    ({"backend.tf": block(bucket="b"), "empty.tfbackend": "# nothing\n"}, ["-backend-config=empty.tfbackend"],
     "{root}/empty.tfbackend:1: holds no backend settings"),
])
def test_what_cannot_be_resolved_fails_naming_file_and_line(tmp_path, files, args, message):
    for name, text in files.items():
        write(tmp_path, name, text)
    with pytest.raises(RootError) as info:
        resolve_root(str(tmp_path), args)
    assert str(info.value) == message.format(root=tmp_path)


def test_a_missing_root_fails_naming_it(tmp_path):
    with pytest.raises(RootError, match="does not exist or is not a directory"):
        resolve_root(str(tmp_path / "nope"))


def test_init_args_split_into_files_and_pairs(tmp_path):
    path = write(tmp_path, "x.tfbackend", 'bucket = "b"\n')
    files, pairs = parse_init_args(str(tmp_path), ["--backend-config=x.tfbackend", "-backend-config=key=a=b",
                                                   "-input=false"])
    assert files == [os.path.normpath(path)] and pairs == [("key", "a=b")]
