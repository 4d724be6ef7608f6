import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils.redact import redact_url


@pytest.mark.parametrize("value, expected", [
    ("https://oauth2:glpat-SECRET1@gitlab.example.com/platform/network.git",
     "https://gitlab.example.com/platform/network.git"),
    ("https://ghp_SECRET2@github.com/acme/infra", "https://github.com/acme/infra"),
    ("https://user:p@ss@SECRET3@git.example.com:8443/x.git", "https://git.example.com:8443/x.git"),
    ("ssh://git:SECRET4@host.example.com:2222/repo.git", "ssh://host.example.com:2222/repo.git"),
    ("git::https://u:SECRET5@host/repo.git//modules/net?ref=v1.2", "git::https://host/repo.git//modules/net?ref=v1.2"),
    ("deploy:SECRET6@git.example.com:acme/infra.git", "git.example.com:acme/infra.git"),
    ("git@github.com:acme/infra.git", "github.com:acme/infra.git"),
    ("git::git@github.com:acme/infra.git", "git::github.com:acme/infra.git"),
    ("https://gitlab.example.com/api/v4/projects/1/repository/archive?private_token=SECRET7&sha=main",
     "https://gitlab.example.com/api/v4/projects/1/repository/archive?private_token=REDACTED&sha=main"),
    ("https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA&X-Amz-Signature=SECRET8",
     "https://b.s3.amazonaws.com/k?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED"),
    ("cloned https://x:SECRET9@h/r.git into /srv/repos/r", "cloned https://h/r.git into /srv/repos/r"),
])
def test_credentials_are_stripped(value, expected):
    redacted = redact_url(value)
    assert redacted == expected
    assert "SECRET" not in redacted


@pytest.mark.parametrize("value", [
    "/srv/repos/network", "https://github.com/acme/infra.git", "github.com:acme/infra.git", "network",
    "ops@example.com wrote this", "s3://bucket/key", "file:///srv/repos/x", "C:/repos/x", "",
    "https://host/path?ref=main&depth=1", "/srv/repos/team@2026/network",
])
def test_values_without_credentials_are_unchanged(value):
    assert redact_url(value) == value


@pytest.mark.parametrize("value", [None, 3, ["https://u:t@h/"]])
def test_non_strings_pass_through(value):
    assert redact_url(value) is value
