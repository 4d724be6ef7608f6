"""Running terraform and reading its errors with real processes (the pure parts:
tests/unit/plugins/module_utils/test_terraform_cli.py)."""

from ansible_collections.tfstate.s3_backend.plugins.module_utils import terraform_cli as cli


def test_first_error_names_the_file_and_line_terraform_printed(tmp_path, terraform_bin):
    (tmp_path / "main.tf").write_text('resource "x" {\n')
    rc, out, err = cli.run([terraform_bin, "validate", "-no-color"], str(tmp_path), cli.terraform_env())
    assert rc != 0
    assert cli.first_error(err or out).endswith("(main.tf:1)"), err


def test_run_reports_a_timeout_and_a_missing_binary(tmp_path):
    assert cli.run(["sleep", "5"], str(tmp_path), {}, timeout=0.2)[0] == 124
    assert cli.run([str(tmp_path / "nothing")], str(tmp_path), {})[0] == 127
