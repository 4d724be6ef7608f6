"""terraform 1.11.4 refuses exactly the files terraform_files says it cannot load (same samples as the unit test)."""

import os
import subprocess

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import terraform_files as tf
from tests.unit.plugins.module_utils.test_terraform_files import SAMPLES


def _terraform(binary, root, *args):
    env = dict(os.environ, TF_CLI_CONFIG_FILE=os.devnull, TF_IN_AUTOMATION="1", TF_INPUT="0")
    return subprocess.run([binary] + list(args) + ["-no-color"], cwd=root, env=env, capture_output=True, text=True, errors="replace",
                          timeout=120, check=False)


@pytest.mark.parametrize("name,filename,data,expected", SAMPLES, ids=[sample[0] for sample in SAMPLES])
def test_terraform_validate_agrees(tmp_path, terraform_bin, name, filename, data, expected):
    with open(str(tmp_path / "main.tf"), "w") as handle:
        handle.write('variable "fine" {}\n')
    with open(str(tmp_path / filename), "wb") as handle:
        handle.write(data)
    problems = tf.load_problems(tf.loaded_files(str(tmp_path)))
    result = _terraform(terraform_bin, str(tmp_path), "validate")
    if expected is None:
        assert problems == [] and result.returncode == 0, (problems, result.stderr)
    else:
        assert [p["file"] for p in problems] == [str(tmp_path / filename)]
        assert result.returncode == 1 and ("on %s line" % filename) in result.stderr, result.stderr


def test_terraform_init_loads_test_files_and_skips_what_loaded_files_skips(tmp_path, terraform_bin):
    utf16 = b"\xff\xfe" + 'variable "v" {}\n'.encode("utf-16-le")
    os.makedirs(str(tmp_path / "sub"))
    os.makedirs(str(tmp_path / "tests"))
    with open(str(tmp_path / "main.tf"), "w") as handle:
        handle.write('variable "fine" {}\n')
    for name in ("sub/x.tf", ".hidden.tf", "backup.tf~", "UPPER.TF", "x.tofu"):
        with open(str(tmp_path / name), "wb") as handle:
            handle.write(utf16)
    assert tf.load_problems(tf.loaded_files(str(tmp_path))) == []
    assert _terraform(terraform_bin, str(tmp_path), "init", "-backend=false").returncode == 0

    with open(str(tmp_path / "tests" / "x.tftest.hcl"), "wb") as handle:
        handle.write(b"\xff\xfe" + 'run "x" {}\n'.encode("utf-16-le"))
    assert [os.path.relpath(p["file"], str(tmp_path)) for p in tf.load_problems(tf.loaded_files(str(tmp_path)))] \
        == ["tests/x.tftest.hcl"]
    result = _terraform(terraform_bin, str(tmp_path), "init", "-backend=false")
    assert result.returncode == 1 and "tests/x.tftest.hcl" in result.stderr, result.stderr
