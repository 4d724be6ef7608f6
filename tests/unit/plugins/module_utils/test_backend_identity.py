"""Which principal, region and endpoints a root's calls use: the backend's settings over the task's options."""

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.identity import (
    IdentityError,
    connection_params,
    describe_identity,
    duration_seconds,
    effective_identity,
    session_name,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.root import resolve_root

ROLE = "arn:aws:iam::111122223333:role/terraform-state"
OPTIONS = {"profile": "inventory", "region": "eu-west-1", "endpoint_url": None, "validate_certs": True}
KEYS = {"access_key": "AKIAINVENTORY", "secret_key": "inventory-secret", "region": "eu-west-1"}


def test_a_backend_without_identity_settings_uses_the_options():
    identity = effective_identity({"bucket": "b", "key": "k"}, OPTIONS)
    assert identity["params"] == {"profile": "inventory", "region": "eu-west-1", "validate_certs": True}
    assert identity["assume_role"] is None
    assert identity["origin"] == {"profile": "options", "credentials": "options", "region": "options",
                                  "endpoints": "default", "assume_role": None}


def test_the_backend_profile_replaces_the_options_credentials():
    identity = effective_identity({"profile": "prod", "region": "us-east-2"}, KEYS)
    assert identity["params"] == {"profile": "prod", "region": "us-east-2"}
    assert identity["origin"]["credentials"] == "backend"
    assert identity["origin"]["region"] == "backend"


def test_assume_role_block_with_duration_and_default_session_name():
    identity = effective_identity({"assume_role": {"role_arn": ROLE, "duration": "1h30m", "external_id": "x-1",
                                                   "tags": {"team": "platform"}}}, OPTIONS, run_id="20261129T2300Z-ab/12")
    assert identity["assume_role"] == {"role_arn": ROLE, "duration": 5400, "external_id": "x-1",
                                       "tags": {"team": "platform"},
                                       "session_name": "tfstate-s3-backend-20261129T2300Z-ab-12"}
    # The base credentials stay the options': the role is assumed with them, as terraform does with its environment.
    assert identity["params"]["profile"] == "inventory"
    assert identity["origin"]["assume_role"] == "backend"


def test_the_assume_role_block_wins_over_the_deprecated_top_level_spelling():
    identity = effective_identity({"assume_role": {"role_arn": ROLE, "session_name": "ci"},
                                   "role_arn": "arn:aws:iam::999999999999:role/old"}, OPTIONS)
    assert identity["assume_role"] == {"role_arn": ROLE, "session_name": "ci", "duration": None}


def test_deprecated_top_level_role_settings_are_read():
    identity = effective_identity({"role_arn": ROLE, "session_name": "legacy", "external_id": "e",
                                   "assume_role_duration_seconds": 900}, OPTIONS)
    assert identity["assume_role"] == {"role_arn": ROLE, "session_name": "legacy", "external_id": "e",
                                       "duration": 900}


def test_endpoints_block_and_deprecated_endpoints_per_service():
    identity = effective_identity({"endpoints": {"s3": "https://s3.internal", "sts": "https://sts.internal"},
                                   "dynamodb_endpoint": "https://ddb.internal", "endpoint": "https://old-s3",
                                   "use_path_style": True},
                                  dict(OPTIONS, endpoint_url="http://fallback"))
    assert identity["params"]["endpoints"] == {"s3": "https://s3.internal", "sts": "https://sts.internal",
                                               "dynamodb": "https://ddb.internal"}
    # The task's endpoint_url stays for the services the backend does not name (iam).
    assert identity["params"]["endpoint_url"] == "http://fallback"
    assert identity["params"]["path_style"] is True


def test_shared_files_insecure_ca_bundle_and_sts_region():
    identity = effective_identity({"shared_config_files": ["~/cfg"], "shared_credentials_files": ["/creds"],
                                   "insecure": True, "custom_ca_bundle": "/ca.pem", "sts_region": "us-west-2"},
                                  OPTIONS)
    params = identity["params"]
    assert (params["config_file"], params["credentials_file"]) == ("~/cfg", "/creds")
    assert params["validate_certs"] is False and params["aws_ca_bundle"] == "/ca.pem"
    assert params["sts_region"] == "us-west-2"


def test_several_shared_files_are_refused_naming_the_backend():
    with pytest.raises(IdentityError, match=r"backend.tf:3: shared_credentials_files lists 2 files"):
        effective_identity({"shared_credentials_files": ["/a", "/b"]}, OPTIONS, where="backend.tf:3")


@pytest.mark.parametrize("settings, named", [
    ({"profile": "var.profile"}, "profile"),
    ({"assume_role": {"role_arn": "${var.role}"}}, "assume_role"),
    ({"role_arn": "local.role"}, "role_arn"),
])
def test_values_left_to_variables_stop_the_root_naming_them(settings, named):
    with pytest.raises(IdentityError, match=r"main.tf:1: backend settings %s are left to variables" % named):
        effective_identity(settings, OPTIONS, where="main.tf:1")


def test_settings_the_discovery_could_not_read_stop_the_root():
    with pytest.raises(IdentityError, match=r"backend settings profile are left to variables"):
        effective_identity({"profile": "p"}, OPTIONS, unresolved=["profile", "bucket"])


def test_an_assume_role_given_as_a_command_line_string_is_refused():
    with pytest.raises(IdentityError, match=r"assume_role is not an object"):
        effective_identity({"assume_role": '{role_arn="%s"}' % ROLE}, OPTIONS)


@pytest.mark.parametrize("role, message", [
    ({"session_name": "x"}, "has no role_arn"),
    ({"role_arn": "terraform-state"}, "is not an IAM role ARN"),
    ({"role_arn": ROLE, "duration": "forever"}, "duration: not a duration"),
    ({"role_arn": ROLE, "mfa": "x"}, "does not know: mfa"),
])
def test_bad_assume_role_blocks_are_refused(role, message):
    with pytest.raises(IdentityError, match=message):
        effective_identity({"assume_role": role}, OPTIONS)


def test_static_keys_and_web_identity_are_refused_without_echoing_them():
    with pytest.raises(IdentityError) as refused:
        effective_identity({"access_key": "AKIASECRET", "secret_key": "very-secret"}, OPTIONS)
    assert "very-secret" not in str(refused.value) and "AKIASECRET" not in str(refused.value)
    assert "access_key/secret_key" in str(refused.value)
    with pytest.raises(IdentityError, match="assume_role_with_web_identity is not supported"):
        effective_identity({"assume_role_with_web_identity": {"role_arn": ROLE}}, OPTIONS)


def test_the_inventory_overrides_when_backend_identity_is_off():
    settings = {"profile": "prod", "assume_role": {"role_arn": ROLE}, "endpoints": {"s3": "https://x"},
                "region": "us-east-2", "access_key": "AKIA"}
    identity = effective_identity(settings, KEYS, use_backend=False)
    # Nothing of the backend's identity is used (and nothing refused); the bucket's region still is.
    assert identity["params"] == {"access_key": "AKIAINVENTORY", "secret_key": "inventory-secret",
                                  "region": "us-east-2"}
    assert identity["assume_role"] is None
    assert identity["ignored"] == ["access_key", "assume_role", "endpoints", "profile"]


def test_described_identity_carries_no_secret_and_rebuilds_the_same_connection():
    identity = effective_identity({"profile": "prod", "assume_role": {"role_arn": ROLE},
                                   "endpoints": {"sts": "https://sts.internal"}}, KEYS, run_id="r1")
    described = describe_identity(identity, principal="arn:aws:sts::111122223333:assumed-role/terraform-state/x")
    assert "inventory-secret" not in repr(described) and "AKIAINVENTORY" not in repr(described)
    params, role = connection_params(KEYS, described)
    assert params == identity["params"]
    assert role == identity["assume_role"]
    # Identity off: a later phase keeps the task's options as they are.
    off = describe_identity(effective_identity({"profile": "prod"}, KEYS, use_backend=False))
    assert connection_params(KEYS, off) == (KEYS, None)


@pytest.mark.parametrize("text, seconds", [("1h", 3600), ("15m30s", 930), ("900", 900), (1200, 1200), (None, None)])
def test_duration_seconds(text, seconds):
    assert duration_seconds(text) == seconds


def test_session_name_fits_sts():
    name = session_name("x" * 80)
    assert len(name) == 64 and name.startswith("tfstate-s3-backend-")


def test_resolve_root_gives_the_identity_settings_of_block_and_partial_files(tmp_path):
    (tmp_path / "backend.tf").write_text(
        'terraform {\n  backend "s3" {\n    bucket = "b"\n    key = "k"\n    secret_key = "very-secret"\n'
        '    assume_role = {\n      role_arn = "%s"\n    }\n  }\n}\n' % ROLE)
    (tmp_path / "prod.tfbackend").write_text('profile = "prod"\nregion = "us-east-2"\n')
    backend = resolve_root(str(tmp_path), ["-backend-config=prod.tfbackend", "-backend-config=sts_region=us-west-2"])
    settings = backend["identity_settings"]
    assert settings["assume_role"] == {"role_arn": ROLE}
    assert (settings["profile"], settings["region"], settings["sts_region"]) == ("prod", "us-east-2", "us-west-2")
    # A static key is said to be there, never returned.
    assert "very-secret" not in repr(backend) and settings["secret_key"] != "very-secret"
    assert backend["identity_unresolved"] == []
    with pytest.raises(IdentityError, match=r"backend.tf:2: the backend holds secret_key"):
        effective_identity(settings, OPTIONS, where="%s:%s" % ("backend.tf", backend["line"]))


def test_resolve_root_names_partial_configurations_with_an_identity_that_init_args_do_not_pass(tmp_path):
    (tmp_path / "backend.tf").write_text('terraform {\n  backend "s3" {\n    bucket = "b"\n    key = "k"\n  }\n}\n')
    (tmp_path / "prod.tfbackend").write_text('region = "us-east-2"\nprofile = "prod"\n')
    (tmp_path / "dev.tfbackend").write_text('region = "us-east-1"\n')
    backend = resolve_root(str(tmp_path), [])
    assert backend["identity_elsewhere"] == ["%s:1 sets profile, region" % (tmp_path / "prod.tfbackend")]
    assert "profile" not in backend["identity_settings"]
    # Passed, the file is part of the backend and nothing is left elsewhere.
    backend = resolve_root(str(tmp_path), ["-backend-config=prod.tfbackend"])
    assert backend["identity_elsewhere"] == [] and backend["identity_settings"]["profile"] == "prod"
