"""The terragrunt stand-in of the test bed does what terragrunt does for init and plan: render, then run terraform."""

import os
import subprocess
import sys

from tests.testbed.collection import ROOT

STANDIN = os.path.join(ROOT, "tests", "testbed", "terragrunt.py")
REMOTE_STATE = """\
%s
remote_state {
  backend = "s3"
  %s
  config = {
    bucket                 = "state"
    key                    = "app/terraform.tfstate"
    encrypt                = true
    skip_bucket_versioning = true
  }
}
"""


def standin(tmp_path, folder, *args):
    """Run the stand-in with a fake terraform that prints its folder and arguments."""
    fake = tmp_path / "fake-terraform"
    fake.write_text('#!/bin/sh\necho "$PWD" "$@"\n')
    fake.chmod(0o755)
    env = dict(os.environ, TG_TF_PATH=str(fake))
    return subprocess.run([sys.executable, STANDIN] + list(args), cwd=str(folder), env=env, capture_output=True,
                          text=True, check=False, timeout=60)


def test_generate_writes_the_backend_and_terraform_runs_in_the_folder(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "terragrunt.hcl").write_text(REMOTE_STATE % ("", 'generate = { path = "backend.tf", if_exists = '
                                                             '"overwrite_terragrunt" }'))
    done = standin(tmp_path, root, "init", "-reconfigure")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(root), "init", "-reconfigure"]
    backend = (root / "backend.tf").read_text()
    assert 'bucket = "state"' in backend and "encrypt = true" in backend
    assert "skip_bucket_versioning" not in backend  # terragrunt-only, never given to terraform


def test_without_generate_init_gets_backend_config_arguments_in_the_cache_of_a_source(tmp_path):
    root = tmp_path / "root"
    (root / "module").mkdir(parents=True)
    (root / "module" / "main.tf").write_text('terraform {\n  backend "s3" {}\n}\n')
    (root / "terragrunt.hcl").write_text(REMOTE_STATE % ('terraform {\n  source = "./module"\n}\n', ""))
    done = standin(tmp_path, root, "init", "-no-color")
    assert done.returncode == 0, done.stderr
    folder, *args = done.stdout.split()
    assert folder.startswith(str(root / ".terragrunt-cache") + os.sep)
    assert os.path.isfile(os.path.join(folder, "main.tf"))
    assert args == ["init", "-backend-config=bucket=state", "-backend-config=key=app/terraform.tfstate",
                    "-backend-config=encrypt=true", "-no-color"]
    planned = standin(tmp_path, root, "plan", "-lock-timeout=0s")
    assert planned.stdout.split() == [folder, "plan", "-lock-timeout=0s"]


def test_an_expression_is_refused(tmp_path):
    (tmp_path / "terragrunt.hcl").write_text(
        'remote_state {\n  backend = "s3"\n  generate = { path = "b.tf", if_exists = "overwrite" }\n'
        '  config = { key = "${path_relative_to_include()}/x" }\n}\n')
    done = standin(tmp_path, tmp_path, "init")
    assert done.returncode == 1 and "literal values only" in done.stderr
    assert standin(tmp_path, tmp_path, "--version").stdout.startswith("terragrunt version")
