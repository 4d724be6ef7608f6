"""A root's effective backend: Terragrunt roots resolved for the migrate phases only, their last init found."""

import json
import os

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.root import (
    RootError,
    resolve_root,
    terragrunt_working_dir,
)

TERRAGRUNT_HCL = """\
locals {
  table = "locks"
}

remote_state {
  backend = "s3"
  config = {
    bucket         = "state"
    key            = "%s"
    region         = "eu-west-1"
    dynamodb_table = "${local.table}"
  }
}
"""


def write(path, text):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), "w") as handle:
        handle.write(text)
    return str(path)


def initialised(folder, **config):
    write(os.path.join(str(folder), ".terraform", "terraform.tfstate"),
          json.dumps({"backend": {"type": "s3", "config": dict({"bucket": "state", "key": "app"}, **config)}}))


def test_a_terragrunt_root_is_refused_unless_asked_for_and_then_read_from_its_terragrunt_file(tmp_path):
    hcl = write(tmp_path / "terragrunt.hcl", TERRAGRUNT_HCL % "app/terraform.tfstate")
    # The stub terragrunt completes with -backend-config: not the root's backend on its own.
    write(tmp_path / "backend.tf", 'terraform {\n  backend "s3" {}\n}\n')
    with pytest.raises(RootError, match=r"terragrunt.hcl:5: the terragrunt form .*migrate role only"):
        resolve_root(str(tmp_path))
    backend = resolve_root(str(tmp_path), terragrunt=True)
    assert (backend["file"], backend["line"], backend["form"]) == (hcl, 5, "terragrunt")
    assert backend["config_files"] == [hcl]
    assert backend["settings"]["dynamodb_table"] == "locks" and backend["lock_mode"] == "dynamodb"
    assert backend["unresolved_settings"] == [] and backend["initialised_lock_mode"] is None
    assert backend["working_dir"] == str(tmp_path)


def test_a_computed_state_key_is_listed_not_refused(tmp_path):
    write(tmp_path / "terragrunt.hcl", TERRAGRUNT_HCL % "${path_relative_to_include()}/terraform.tfstate")
    backend = resolve_root(str(tmp_path), terragrunt=True)
    assert backend["unresolved_settings"] == ["key"]
    assert backend["settings"]["key"] == "${path_relative_to_include()}/terraform.tfstate"


def test_the_last_init_is_read_where_terragrunt_ran_terraform(tmp_path):
    write(tmp_path / "terragrunt.hcl", TERRAGRUNT_HCL % "app/terraform.tfstate")
    assert terragrunt_working_dir(str(tmp_path)) == str(tmp_path)
    old = tmp_path / ".terragrunt-cache" / "aaa" / "bbb"
    new = tmp_path / ".terragrunt-cache" / "ccc" / "ddd" / "modules" / "app"
    initialised(old, dynamodb_table="locks")
    initialised(new, use_lockfile=True)
    os.utime(str(old / ".terraform" / "terraform.tfstate"), (1, 1))
    assert terragrunt_working_dir(str(tmp_path)) == str(new)
    backend = resolve_root(str(tmp_path), terragrunt=True)
    assert backend["working_dir"] == str(new) and backend["initialised_lock_mode"] == "lockfile"
    # terraform run in the root itself (no terraform { source }) wins.
    initialised(tmp_path, dynamodb_table="locks", use_lockfile=True)
    assert resolve_root(str(tmp_path), terragrunt=True)["initialised_lock_mode"] == "dual"


def test_a_plain_root_is_read_as_before(tmp_path):
    write(tmp_path / "backend.tf", 'terraform {\n  backend "s3" {\n    bucket = "state"\n    key    = "app"\n  }\n}\n')
    initialised(tmp_path / ".terragrunt-cache" / "a" / "b", use_lockfile=True)  # ignored: not a Terragrunt root
    for terragrunt in (False, True):
        backend = resolve_root(str(tmp_path), terragrunt=terragrunt)
        assert backend["form"] == "block" and backend["working_dir"] == str(tmp_path)
        assert backend["initialised_lock_mode"] is None
