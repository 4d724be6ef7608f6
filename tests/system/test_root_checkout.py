"""root_checkout as Ansible runs it: a token in the repository URL never reaches the result, the message or
the invocation it prints; a URL without one is named in messages."""

import json
import subprocess

from ansible_collections.tfstate.s3_backend.plugins.modules import root_checkout
from tests.testbed.collection import run_module


def test_a_token_in_the_url_is_in_no_output(tmp_path):
    url = "https://bot:ghp_topsecret0123@127.0.0.1:9/org/infra.git"
    result = run_module(root_checkout, {"repo_url": url, "host": "app", "workdir": str(tmp_path / "work")})
    assert result["failed"] is True
    text = json.dumps(result)
    assert "ghp_topsecret0123" not in text and "bot:" not in text, text
    assert "could not clone https://127.0.0.1:9/org/infra.git" in result["msg"]


def test_a_url_without_userinfo_is_named(tmp_path):
    bare = tmp_path / "infra.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    result = run_module(root_checkout, {"repo_url": str(bare), "host": "app", "workdir": str(tmp_path / "work"),
                                        "version": "v9"})
    assert result["failed"] is True
    assert result["msg"] == "app: %s has no branch, tag or commit v9." % bare
    assert result["invocation"]["module_args"]["repo_url"] == str(bare)


def test_a_local_root(tmp_path):
    result = run_module(root_checkout, {"root": str(tmp_path), "host": "app"})
    assert result["changed"] is False and result["root_path"] == str(tmp_path.resolve()) and result["clone"] is None
    missing = run_module(root_checkout, {"root": str(tmp_path / "nowhere"), "host": "app"})
    assert missing["msg"] == "app: the root %s is not a directory (%s does not exist)." % (
        tmp_path / "nowhere", tmp_path.resolve() / "nowhere")
