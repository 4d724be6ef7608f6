"""terraform_root_info under community.general.terraform's option names, checked against what terraform init records."""

import json
import os
import subprocess

import pytest

from ansible_collections.tfstate.s3_backend.plugins.modules import terraform_root_info
from tests.testbed.collection import run_module

pytestmark = pytest.mark.terraform

PARTIAL_BACKEND = 'terraform {\n  backend "s3" {\n    region = "us-east-1"\n  }\n}\n'


def recorded_backend(root):
    """The backend settings the last terraform init recorded in the root."""
    with open(os.path.join(root.path, ".terraform", "terraform.tfstate")) as handle:
        return json.load(handle)["backend"]["config"]


def test_project_path_binary_path_and_backend_config_files(tf_root, state_bucket, terraform_bin):
    root = tf_root("app")
    root.write("backend.tf", PARTIAL_BACKEND)
    root.write("prod.tfbackend", 'bucket       = "%s"\nkey          = "app/terraform.tfstate"\nuse_lockfile = true\n'
               % state_bucket)
    root.init("-backend-config=prod.tfbackend")
    recorded = recorded_backend(root)

    aliased = run_module(terraform_root_info, dict(project_path=root.path, backend_config_files=["prod.tfbackend"],
                                                   binary_path=terraform_bin))
    assert not aliased.get("failed"), aliased
    backend = aliased["backend"]
    for setting in ("bucket", "key", "region", "use_lockfile"):
        assert backend["settings"][setting] == recorded[setting], setting
    assert backend["settings"]["bucket"] == state_bucket
    assert backend["lock_mode"] == backend["initialised_lock_mode"] == "lockfile"
    assert backend["partial_config_files"] == [os.path.join(root.path, "prod.tfbackend")]
    version = subprocess.run([terraform_bin, "version", "-json"], capture_output=True, text=True, check=True,
                             env=root.env)
    assert aliased["terraform"]["version"] == json.loads(version.stdout)["terraform_version"]

    # The same run under this module's own names gives the same answer.
    canonical = run_module(terraform_root_info, dict(root=root.path, init_args=["-backend-config=prod.tfbackend"],
                                                     terraform_bin=terraform_bin))
    assert (canonical["backend"], canonical["terraform"]) == (aliased["backend"], aliased["terraform"])


def test_init_args_come_after_backend_config_files_as_terraform_reads_them(tf_root, state_bucket):
    root = tf_root("app")
    root.write("backend.tf", PARTIAL_BACKEND)
    root.write("prod.tfbackend", 'bucket = "%s"\nkey    = "app/terraform.tfstate"\n' % state_bucket)
    # terraform init takes the -backend-config arguments in order, a later one winning.
    root.init("-backend-config=prod.tfbackend", "-backend-config=key=other/terraform.tfstate")
    assert recorded_backend(root)["key"] == "other/terraform.tfstate"

    result = run_module(terraform_root_info, dict(project_path=root.path, backend_config_files=["prod.tfbackend"],
                                                  init_args=["-backend-config=key=other/terraform.tfstate"]))
    assert result["backend"]["settings"]["key"] == "other/terraform.tfstate"
    assert result["backend"]["settings"]["bucket"] == recorded_backend(root)["bucket"] == state_bucket


def test_the_init_argv_and_terraform_env_it_builds_initialise_the_root(tf_root, state_bucket, terraform_bin, moto_server):
    root = tf_root("app")
    root.write("backend.tf", PARTIAL_BACKEND)
    root.write("prod.tfbackend", 'bucket = "%s"\nkey    = "app/terraform.tfstate"\n' % state_bucket)
    result = run_module(terraform_root_info, dict(root=root.path, init_args=["-backend-config=prod.tfbackend"],
                                                  terraform_bin=terraform_bin, region="eu-west-3",
                                                  endpoint_url=moto_server.url))
    # The backend's region wins over the option's; an endpoint adds path-style addressing.
    assert result["terraform_env"] == {"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": moto_server.url,
                                       "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
    assert result["init_argv"] == [terraform_bin, "init", "-no-color", "-input=false", "-reconfigure",
                                   "-backend-config=prod.tfbackend", "-backend-config=use_path_style=true"]
    # terraform, given only the credentials and what the module built, initialises the root against moto.
    env = dict((name, value) for name, value in root.env.items()
               if not name.startswith(("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "TF_")))
    env.update(result["terraform_env"], TF_CLI_CONFIG_FILE=root.env["TF_CLI_CONFIG_FILE"])
    done = subprocess.run(result["init_argv"], cwd=root.path, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert recorded_backend(root)["bucket"] == state_bucket and recorded_backend(root)["use_path_style"] is True
