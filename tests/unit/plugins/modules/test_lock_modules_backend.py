"""The lock modules' backend option refuses, before any AWS call, a backend whose identity or state cannot be used
(the principal it gives is proven under IAM enforcement in tests/system/test_unlock_identity.py)."""

from ansible_collections.tfstate.s3_backend.plugins.modules import lockfile_info, unlock
from tests.testbed.collection import run_module

AWS = {"access_key": "x", "secret_key": "x", "region": "us-east-1", "endpoint_url": "http://127.0.0.1:9"}


def backend(settings=None, identity=None, **extra):
    return dict({"root": "/srv/app", "file": "/srv/app/backend.tf", "line": 2,
                 "settings": settings or {"bucket": "b", "key": "app/terraform.tfstate"},
                 "identity_settings": identity or {}, "identity_unresolved": []}, **extra)


def test_an_identity_left_to_a_variable_fails_naming_file_line_and_setting():
    for module in (unlock, lockfile_info):
        args = dict(AWS, backend=backend(identity={"profile": "var.profile"}, identity_unresolved=["profile"]))
        if module is unlock:
            args["stale_after"] = 3600
        result = run_module(module, args)
        assert result["failed"] and "/srv/app/backend.tf:2" in result["msg"] and "profile" in result["msg"], result


def test_unlock_of_a_backend_without_a_literal_bucket_fails_naming_it():
    result = run_module(unlock, dict(AWS, stale_after=3600, backend=backend(
        settings={"bucket": "${local.bucket}", "key": "k"}, unresolved_settings=["bucket"])))
    assert result["failed"] and result["msg"] == ("/srv/app/backend.tf:2: the backend's state cannot be located "
                                                  "(not literal: bucket)"), result


def test_unlock_needs_states_or_a_backend():
    result = run_module(unlock, dict(AWS, stale_after=3600))
    assert result["failed"] and "states, backend" in result["msg"], result
