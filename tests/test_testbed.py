"""The test bed itself: moto answers, and real terraform locks state through it."""

import json


def test_terraform_lockfile_against_moto(tf_root, s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    root = tf_root()
    root.write_backend(bucket=bucket_name, key="bed/terraform.tfstate", use_lockfile=True)
    root.init()
    root.apply()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket_name).get("Contents", [])]
    assert keys == ["bed/terraform.tfstate"]
    state = json.loads(s3.get_object(Bucket=bucket_name, Key="bed/terraform.tfstate")["Body"].read())
    assert state["resources"][0]["type"] == "terraform_data"


def _corpus_test_run(tmp_path, **env):
    """One corpus test in a child pytest, with the corpus pointed at a folder that does not exist."""
    import os
    import subprocess
    import sys

    from tests.testbed.collection import ROOT

    child_env = {name: value for name, value in os.environ.items()
                 if name not in ("CI", "TFSTATE_REQUIRE_TERRAFORM")}
    child_env.update(env, TFSTATE_CORPUS_DIR=str(tmp_path / "no-corpus"))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-k", "test_backend_info_reads_every_corpus_file",
         os.path.join(ROOT, "tests", "unit", "plugins", "modules", "test_backend_corpus.py")],
        cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=300, check=False)


def test_a_missing_corpus_skips_locally_and_fails_under_ci(tmp_path):
    local = _corpus_test_run(tmp_path)
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout + local.stderr
    ci = _corpus_test_run(tmp_path, CI="true")
    assert ci.returncode == 1 and "the shared corpus is missing" in ci.stdout, ci.stdout + ci.stderr
    assert "CI requires it" in ci.stdout
