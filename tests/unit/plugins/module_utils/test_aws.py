"""The AWS layer's client settings, credentials and error messages (no AWS call)."""

import os

import pytest
import yaml
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import Stubber

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws import client as aws
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws import retries
from tests.testbed.collection import ROOT


def test_collection_version_is_galaxy_version():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    assert aws.COLLECTION_VERSION == galaxy["version"]
    assert aws.USER_AGENT_EXTRA == "tfstate.s3_backend/%s" % galaxy["version"]


def test_default_limits_fail_a_dead_endpoint_within_a_minute():
    worst = retries.worst_case_seconds(retries.DEFAULT_CONNECT_TIMEOUT, retries.DEFAULT_READ_TIMEOUT, retries.DEFAULT_MAX_ATTEMPTS)
    assert worst <= 55
    # botocore's own defaults (60 s + 60 s, legacy 5 attempts) would not.
    assert retries.worst_case_seconds(60, 60, 5) > 60
    # No try starts after the retry budget: the budget and one try bound it too.
    assert retries.worst_case_seconds(5, 12, 10, retry_budget=20) == 37
    assert retries.worst_case_seconds(5, 12, 3, retry_budget=retries.DEFAULT_RETRY_BUDGET) == worst


def test_client_config_defaults():
    config = aws.client_config()
    # botocore makes one attempt: the collection's RetryPolicy retries.
    assert config == {"connect_timeout": retries.DEFAULT_CONNECT_TIMEOUT, "read_timeout": retries.DEFAULT_READ_TIMEOUT,
                      "retries": {"mode": "standard", "total_max_attempts": 1},
                      "user_agent_extra": aws.USER_AGENT_EXTRA}
    assert aws.client_config(path_style=True)["s3"] == {"addressing_style": "path"}


def test_client_config_precedence_option_over_aws_config_over_default():
    user = {"connect_timeout": 30, "retries": {"max_attempts": 9, "mode": "adaptive"}, "user_agent_extra": "acme/1"}
    config = aws.client_config(user)
    assert config["connect_timeout"] == 30 and config["read_timeout"] == retries.DEFAULT_READ_TIMEOUT
    assert config["retries"] == {"mode": "adaptive", "total_max_attempts": 1}
    assert config["user_agent_extra"] == "acme/1 " + aws.USER_AGENT_EXTRA
    config = aws.client_config(user, connect_timeout=2, read_timeout=3)
    assert (config["connect_timeout"], config["read_timeout"]) == (2, 3)
    assert user["retries"] == {"max_attempts": 9, "mode": "adaptive"}, "the caller's dict was changed"
    assert aws.client_config({"user_agent_extra": aws.USER_AGENT_EXTRA})["user_agent_extra"] == aws.USER_AGENT_EXTRA
    # Tries of a call without answer: the option > aws_config (total, or retries + 1) > the default.
    assert aws.max_attempts_setting(user) == 10
    assert aws.max_attempts_setting(user, 1) == 1
    assert aws.max_attempts_setting({"retries": {"total_max_attempts": 4}}) == 4
    assert aws.max_attempts_setting() == retries.DEFAULT_MAX_ATTEMPTS


def test_every_client_carries_the_settings():
    connection = aws.AwsConnection(region="us-east-1", access_key="a", secret_key="b",
                                   endpoint_url="http://127.0.0.1:1", read_timeout=7, max_attempts=2, retry_budget=9)
    for service in ("s3", "dynamodb", "iam"):
        client = connection.client(service)
        config = client.meta.config
        assert aws.USER_AGENT_EXTRA in config.user_agent_extra
        assert (config.connect_timeout, config.read_timeout) == (retries.DEFAULT_CONNECT_TIMEOUT, 7)
        assert config.retries["total_max_attempts"] == 1
        assert (client.tfstate_retry.max_attempts, client.tfstate_retry.budget) == (2, 9)


@pytest.mark.parametrize("code, status, exception, kind", [
    ("SlowDown", 503, None, "budget"),
    ("Throttling", 400, None, "budget"),
    ("ThrottlingException", 400, None, "budget"),
    ("RequestLimitExceeded", 503, None, "budget"),
    ("ProvisionedThroughputExceededException", 400, None, "budget"),
    ("InternalError", 500, None, "budget"),
    (None, 502, None, "budget"),
    (None, None, "ConnectionClosedError", "budget"),
    (None, None, "ReadTimeoutError", "attempts"),
    (None, None, "ConnectTimeoutError", "attempts"),
    (None, None, "EndpointConnectionError", "attempts"),
    ("AccessDenied", 403, None, None),
    ("NoSuchKey", 404, None, None),
    ("PermanentRedirect", 301, None, None),
    ("ConditionalCheckFailedException", 400, None, None),
    (None, None, "ParamValidationError", None),
])
def test_retry_kind_retries_what_aws_asks_to_retry(code, status, exception, kind):
    assert retries.retry_kind(code, status, exception) == kind


def test_backoff_is_exponential_capped_and_jittered():
    assert retries.backoff_seconds(1, rand=lambda: 0.0) == retries.BACKOFF_BASE / 2
    assert retries.backoff_seconds(1, rand=lambda: 1.0) == retries.BACKOFF_BASE
    assert retries.backoff_seconds(3, rand=lambda: 1.0) == retries.BACKOFF_BASE * 4
    assert retries.backoff_seconds(30, rand=lambda: 1.0) == retries.BACKOFF_CAP
    assert retries.BACKOFF_CAP / 2 <= retries.backoff_seconds(30) <= retries.BACKOFF_CAP


def test_retry_delay_spends_the_budget_for_answers_and_counts_tries_without_answer():
    def half():
        return 0.5

    # An answer to retry: retried past max_attempts, while the wait ends inside the budget.
    assert retries.retry_delay("budget", 10, 5.0, 60, 3, half) == retries.backoff_seconds(10, half)
    assert retries.retry_delay("budget", 10, 58.0, 60, 3, half) is None
    # No answer: max_attempts tries in all, and never past the budget either.
    assert retries.retry_delay("attempts", 2, 1.0, 60, 3, half) == retries.backoff_seconds(2, half)
    assert retries.retry_delay("attempts", 3, 1.0, 60, 3, half) is None
    assert retries.retry_delay("attempts", 1, 59.9, 60, 3, half) is None
    assert retries.retry_delay(None, 1, 0.0, 60, 3, half) is None


def test_retry_policy_retries_throttled_answers_until_the_budget_is_spent():
    """botocore's needs-retry hook, as its endpoint loop calls it: every answer SlowDown (the system test
    tests/system/test_migrate_faults.py sees the same through a fault proxy)."""

    class Http:
        status_code = 503

    now = [100.0]
    policy = retries.RetryPolicy(max_attempts=3, budget=5, clock=lambda: now[0])
    context = {}
    policy.started(context=context)
    attempts, waits = 1, []
    while True:
        delay = policy.needs_retry(response=(Http(), {"Error": {"Code": "SlowDown"}}), attempts=attempts,
                                   request_dict={"context": context})
        if delay is None:
            break
        waits.append(delay)
        now[0] += delay
        attempts += 1
    assert attempts > 3, "an answer is retried past max_attempts"
    assert sum(waits) < 5 and waits == sorted(waits[:4]) + waits[4:], waits
    # No answer at all: max_attempts tries in all.
    context = {}
    policy.started(context=context)
    from botocore.exceptions import ReadTimeoutError as Timeout
    assert policy.needs_retry(caught_exception=Timeout(endpoint_url="x"), attempts=2, request_dict={"context": context})
    assert policy.needs_retry(caught_exception=Timeout(endpoint_url="x"), attempts=3,
                              request_dict={"context": context}) is None


def test_a_spent_budget_names_the_code_the_request_id_and_the_retries():
    exc = ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                       "ResponseMetadata": {"HTTPStatusCode": 503, "RequestId": "REQ42", "RetryAttempts": 7}},
                      "GetObject")
    text = str(aws.client_error(exc, "GetObject", "s3://b/k"))
    assert text == ("GetObject on s3://b/k failed (SlowDown, request ID REQ42): Please reduce your request rate. "
                    "(still so after 7 retries: the retry budget is spent)")


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

    from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws import client as aws

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
