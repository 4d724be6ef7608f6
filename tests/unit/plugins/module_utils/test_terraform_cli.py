"""terraform_cli's pure parts: reading errors, environment, argv (running terraform: tests/system/test_terraform_cli.py)."""

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils import terraform_cli as cli


def test_first_error_without_a_diagnostic_is_the_last_line():
    assert cli.first_error("one\ntwo\n\n") == "two"
    assert cli.first_error("") == "no output"
    assert cli.first_error("Error: Backend initialization required\n\nmore") == "Backend initialization required"


def test_terraform_env_drops_empty_values_and_accepts_awx_security_token():
    env = cli.terraform_env(base={"AWS_SECURITY_TOKEN": "tok", "PATH": "/bin"},
                            extra={"AWS_PROFILE": "", "AWS_REGION": "eu-west-1"})
    assert env["AWS_SESSION_TOKEN"] == "tok" and env["AWS_REGION"] == "eu-west-1"
    assert "AWS_PROFILE" not in env and env["TF_INPUT"] == "0"


def test_aws_env_gives_terraform_the_tasks_aws_options_and_leaves_out_unset_ones():
    options = {"profile": "prod", "region": "eu-west-1", "endpoint_url": None, "aws_ca_bundle": "",
               "connect_timeout": 5, "access_key": "AKIA"}
    assert cli.aws_env(options) == {"AWS_PROFILE": "prod", "AWS_REGION": "eu-west-1"}
    assert cli.aws_env({"endpoint_url": "http://x", "aws_ca_bundle": "/ca.pem"}) == {
        "AWS_ENDPOINT_URL": "http://x", "AWS_CA_BUNDLE": "/ca.pem"}


def test_argv():
    assert cli.init_argv("tofu", ["-backend-config=a"], "http://x")[-1] == "-backend-config=use_path_style=true"
    assert "-backend-config=use_path_style=true" not in cli.init_argv("terraform", [], None)
    assert cli.plan_argv("terraform", "0s", detailed=True)[-2:] == ["-lock-timeout=0s", "-detailed-exitcode"]


@pytest.mark.parametrize("stderr, refused", [
    ("Error acquiring the state lock\nPutObject ... ID: LOCK-1", True),
    ("Error acquiring the state lock\nConditionalCheckFailedException ID: LOCK-1", False),
    ("Error acquiring the state lock\nPutObject ID: OTHER", False),
])
def test_refused_by_lockfile(stderr, refused):
    assert cli.refused_by_lockfile(1, stderr, "LOCK-1") is refused
    assert cli.refused_by_lockfile(0, stderr, "LOCK-1") is False


def test_runner_starts_terragrunt_with_the_checked_terraform():
    plain = {"terraform": {"binary": "/opt/terraform"}, "terragrunt_bin": None}
    assert cli.runner(plain) == ("/opt/terraform", {})
    binary, env = cli.runner(dict(plain, terragrunt_bin="/opt/terragrunt"))
    assert binary == "/opt/terragrunt"
    assert env == {"TG_TF_PATH": "/opt/terraform", "TERRAGRUNT_TFPATH": "/opt/terraform",
                   "TG_NON_INTERACTIVE": "true", "TERRAGRUNT_NON_INTERACTIVE": "true"}
    assert cli.terragrunt_env({"A": "1"}, None) == {
        "A": "1", "TG_NON_INTERACTIVE": "true", "TERRAGRUNT_NON_INTERACTIVE": "true"}


def test_refused_by_lock_item_is_the_dynamodb_item_not_the_lock_object():
    from ansible_collections.tfstate.s3_backend.plugins.module_utils.terraform_cli import refused_by_lock_item

    item = "Error acquiring the state lock\n\nError message: ConditionalCheckFailedException\nLock Info:\n  ID: abc-1\n"
    assert refused_by_lock_item(1, item, "abc-1")
    assert not refused_by_lock_item(1, item, "other-id")
    assert not refused_by_lock_item(0, item, "abc-1")
    assert not refused_by_lock_item(1, "Error acquiring the state lock: operation error S3: PutObject ... ID: abc-1",
                                    "abc-1")


def test_a_binary_is_asked_its_version_once_until_the_file_changes(tmp_path):
    binary = tmp_path / "terraform"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    env = {"PATH": str(tmp_path)}
    asked = []

    def runner(argv, cwd, run_env, timeout):
        asked.append(argv)
        return 0, "Terraform v1.11.4\non linux_amd64\n", ""

    cache = str(tmp_path / "cache")
    first = cli.binary_version("terraform", env, cache_dir=cache, runner=runner)
    again = cli.binary_version("terraform", env, cache_dir=cache, runner=runner)
    assert first == again == (0, "Terraform v1.11.4\non linux_amd64\n", "") and len(asked) == 1
    # Another question of the same file, and the same file replaced, are asked again.
    cli.binary_version("terraform", env, ("--version",), cache_dir=cache, runner=runner)
    binary.write_text("#!/bin/sh\n# a newer build\n")
    cli.binary_version("terraform", env, cache_dir=cache, runner=runner)
    assert len(asked) == 3


def test_a_failed_answer_is_not_remembered(tmp_path):
    binary = tmp_path / "tofu"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    answers = [(1, "", "broken"), (0, "OpenTofu v1.10.2\n", "")]

    def runner(argv, cwd, run_env, timeout):
        return answers.pop(0)

    cache = str(tmp_path / "cache")
    assert cli.binary_version("tofu", {"PATH": str(tmp_path)}, cache_dir=cache, runner=runner)[0] == 1
    assert cli.binary_version("tofu", {"PATH": str(tmp_path)}, cache_dir=cache, runner=runner)[0] == 0
    assert answers == []


def test_the_lock_that_refused_terraform_is_named():
    stderr = (
        "\u2577\n\u2502 Error: Error acquiring the state lock\n\u2502 \n"
        "\u2502 Error message: operation error DynamoDB: PutItem, ConditionalCheckFailedException\n"
        "\u2502 Lock Info:\n\u2502   ID:        0b0e2a51-6f3c-4c1e-9d0f-8a7d2f1c3b4e\n"
        "\u2502   Path:      acme-tfstate/app/terraform.tfstate\n\u2502   Operation: OperationTypeMigrate\n"
        "\u2502   Who:       tfstate.s3_backend@ctl01\n\u2502   Version:   1.11.4\n"
        "\u2502   Created:   2026-12-07 18:20:00.123456789 +0000 UTC\n\u2502   Info:      run=r1\n\u2575\n")
    assert cli.lock_named(stderr) == ("lock ID 0b0e2a51-6f3c-4c1e-9d0f-8a7d2f1c3b4e (OperationTypeMigrate, "
                                      "tfstate.s3_backend@ctl01, created 2026-12-07 18:20:00.123456789 +0000 UTC)")
    assert cli.lock_named("Error: something else") == ""
