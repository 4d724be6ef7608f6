"""The AWS layer's client settings, credentials and error messages (no AWS call)."""

import os

import pytest
import yaml
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import Stubber

from ansible_collections.tfstate.s3_backend.plugins.module_utils import aws
from tests.testbed.collection import ROOT


def test_collection_version_is_galaxy_version():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    assert aws.COLLECTION_VERSION == galaxy["version"]
    assert aws.USER_AGENT_EXTRA == "tfstate.s3_backend/%s" % galaxy["version"]


def test_default_limits_fail_a_dead_endpoint_within_a_minute():
    worst = aws.worst_case_seconds(aws.DEFAULT_CONNECT_TIMEOUT, aws.DEFAULT_READ_TIMEOUT, aws.DEFAULT_MAX_ATTEMPTS)
    assert worst <= 55
    # botocore's own defaults (60 s + 60 s, legacy 5 attempts) would not.
    assert aws.worst_case_seconds(60, 60, 5) > 60


def test_client_config_defaults():
    config = aws.client_config()
    assert config == {"connect_timeout": aws.DEFAULT_CONNECT_TIMEOUT, "read_timeout": aws.DEFAULT_READ_TIMEOUT,
                      "retries": {"mode": "standard", "total_max_attempts": aws.DEFAULT_MAX_ATTEMPTS},
                      "user_agent_extra": aws.USER_AGENT_EXTRA}
    assert aws.client_config(path_style=True)["s3"] == {"addressing_style": "path"}


def test_client_config_precedence_option_over_aws_config_over_default():
    user = {"connect_timeout": 30, "retries": {"max_attempts": 9, "mode": "adaptive"}, "user_agent_extra": "acme/1"}
    config = aws.client_config(user)
    assert config["connect_timeout"] == 30 and config["read_timeout"] == aws.DEFAULT_READ_TIMEOUT
    assert config["retries"] == {"mode": "adaptive", "max_attempts": 9}
    assert config["user_agent_extra"] == "acme/1 " + aws.USER_AGENT_EXTRA
    config = aws.client_config(user, connect_timeout=2, read_timeout=3, max_attempts=1)
    assert (config["connect_timeout"], config["read_timeout"], config["retries"]) == (
        2, 3, {"mode": "adaptive", "total_max_attempts": 1})
    assert user["retries"] == {"max_attempts": 9, "mode": "adaptive"}, "the caller's dict was changed"
    total = aws.client_config({"retries": {"total_max_attempts": 4}})
    assert total["retries"] == {"mode": "standard", "total_max_attempts": 4}
    assert aws.client_config({"user_agent_extra": aws.USER_AGENT_EXTRA})["user_agent_extra"] == aws.USER_AGENT_EXTRA


def test_every_client_carries_the_settings():
    connection = aws.AwsConnection(region="us-east-1", access_key="a", secret_key="b",
                                   endpoint_url="http://127.0.0.1:1", read_timeout=7, max_attempts=2)
    for service in ("s3", "dynamodb", "iam"):
        config = connection.client(service).meta.config
        assert aws.USER_AGENT_EXTRA in config.user_agent_extra
        assert (config.connect_timeout, config.read_timeout) == (aws.DEFAULT_CONNECT_TIMEOUT, 7)
        assert config.retries["total_max_attempts"] == 2


def test_bad_aws_config_is_a_clear_error():
    with pytest.raises(aws.AwsError) as failed:
        aws.AwsConnection(region="us-east-1", aws_config={"no_such_setting": 1})
    assert "aws_config" in str(failed.value) and "no_such_setting" in str(failed.value)


@pytest.mark.parametrize("environ, expected", [
    ({"AWS_SESSION_TOKEN": "new", "AWS_SECURITY_TOKEN": "old"}, "new"),
    ({"AWS_SECURITY_TOKEN": "old"}, "old"),
    ({"EC2_SECURITY_TOKEN": "ec2"}, "ec2"),
    ({"AWS_SESSION_TOKEN": ""}, None),
    ({}, None),
])
def test_session_token_from_the_environment_with_explicit_keys(environ, expected):
    assert aws.resolve_session_token("AKIA", None, environ) == expected


def test_session_token_explicit_wins_and_profiles_get_none():
    assert aws.resolve_session_token("AKIA", "given", {"AWS_SECURITY_TOKEN": "old"}) == "given"
    # Without explicit keys boto3's chain reads the variables itself; a profile must not get a stray token.
    assert aws.resolve_session_token(None, None, {"AWS_SECURITY_TOKEN": "old"}) is None


def test_connection_sends_the_security_token_of_the_environment():
    connection = aws.AwsConnection(region="us-east-1", access_key="AKIA", secret_key="s",
                                   environ={"AWS_SECURITY_TOKEN": "from-awx"})
    assert connection.session.get_credentials().token == "from-awx"


def _client():
    return aws.AwsConnection(region="us-east-1", access_key="a", secret_key="b").client("s3")


def test_client_error_names_operation_resource_code_and_request_id():
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("get_object", service_error_code="AccessDenied", service_message="Access Denied",
                              http_status_code=403, response_meta={"RequestId": "4442587FB7D0A2F9"})
        with pytest.raises(aws.AwsError) as failed:
            aws.call(client, "get_object", resource="s3://b/k", Bucket="b", Key="k")
    error = failed.value
    assert str(error) == ("GetObject on s3://b/k failed (AccessDenied, request ID 4442587FB7D0A2F9): Access Denied "
                          "(the credentials lack the IAM permission s3:GetObject on this resource)")
    assert error.to_result()["aws_request_id"] == "4442587FB7D0A2F9"
    assert error.to_result()["aws_error_code"] == "AccessDenied"


def test_client_error_request_id_from_the_header():
    exc = ClientError({"Error": {"Code": "NoSuchBucket", "Message": "gone"},
                       "ResponseMetadata": {"HTTPStatusCode": 404, "HTTPHeaders": {"x-amz-request-id": "R1"}}},
                      "ListObjectsV2")
    error = aws.client_error(exc, "ListObjectsV2", "s3://b")
    assert (error.code, error.status, error.request_id) == ("NoSuchBucket", 404, "R1")


def test_timeout_names_the_endpoint_and_the_limits():
    client = aws.AwsConnection(region="us-east-1", access_key="a", secret_key="b", endpoint_url="http://127.0.0.1:9",
                               connect_timeout=1, read_timeout=2, max_attempts=3).client("s3")
    error = aws.transport_error(ReadTimeoutError(endpoint_url="http://127.0.0.1:9/b"), client, "GetObject", "s3://b/k")
    text = str(error)
    assert "http://127.0.0.1:9" in text and "read_timeout=2" in text and "max_attempts=3" in text
    assert error.code == "ReadTimeoutError"


@pytest.mark.parametrize("environ, expected", [
    ({"AWS_SECURITY_TOKEN": "old"}, {"AWS_SESSION_TOKEN": "old"}),
    ({"AWS_SECURITY_TOKEN": "old", "AWS_SESSION_TOKEN": "new"}, {}),
    ({"AWS_SESSION_TOKEN": "new"}, {}),
    ({}, {}),
])
def test_session_token_env_for_child_processes(environ, expected):
    assert aws.session_token_env(environ) == expected


def test_assume_role_request_of_a_backend_role():
    request = aws.assume_role_request({
        "role_arn": "arn:aws:iam::111122223333:role/state", "session_name": "tfstate-s3-backend-r1",
        "external_id": "e-1", "duration": 900, "policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        "tags": {"team": "platform", "cost": 7}, "transitive_tag_keys": ["team"]})
    assert request == {
        "RoleArn": "arn:aws:iam::111122223333:role/state", "RoleSessionName": "tfstate-s3-backend-r1",
        "ExternalId": "e-1", "DurationSeconds": 900,
        "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
        "Tags": [{"Key": "cost", "Value": "7"}, {"Key": "team", "Value": "platform"}],
        "TransitiveTagKeys": ["team"]}


def test_cached_role_credentials_are_renewed_five_minutes_before_they_expire():
    import datetime

    now = datetime.datetime(2026, 11, 30, tzinfo=datetime.timezone.utc)
    assert not aws._expires_soon(now + datetime.timedelta(minutes=6), now)
    assert aws._expires_soon(now + datetime.timedelta(minutes=4), now)
    assert aws._expires_soon("not a time", now)


def test_an_access_denial_names_the_missing_iam_action():
    from botocore.exceptions import ClientError

    from ansible_collections.tfstate.s3_backend.plugins.module_utils import aws

    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"},
                          "ResponseMetadata": {"HTTPStatusCode": 403, "RequestId": "R1"}}, "ListObjectsV2")
    error = aws.client_error(denied, "ListObjectsV2", "s3://b", "s3")
    assert "the credentials lack the IAM permission s3:ListBucket" in str(error) and error.code == "AccessDenied"
    assert aws.iam_action("dynamodb", "DeleteItem") == "dynamodb:DeleteItem"
    assert aws.iam_action("s3", "GetObject", versioned=True) == "s3:GetObjectVersion"
    # A message that already names the action is left as it is; other errors get no such note.
    named = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized to perform: "
                                   "dynamodb:PutItem"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "PutItem")
    assert "lack" not in str(aws.client_error(named, "PutItem", "t", "dynamodb"))
    missing = ClientError({"Error": {"Code": "NoSuchKey", "Message": "gone"},
                           "ResponseMetadata": {"HTTPStatusCode": 404}}, "GetObject")
    assert "lack" not in str(aws.client_error(missing, "GetObject", "s3://b/k", "s3"))
