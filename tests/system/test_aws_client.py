"""Every AWS module's client: bounded timeouts and retries, the collection's User-Agent, the request ID in
errors, and AWX's AWS_SECURITY_TOKEN; checked through a proxy or a black hole on 127.0.0.1 and moto."""

import time

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import (
    USER_AGENT_EXTRA,
    AwsConnection,
    call,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.retries import worst_case_seconds
from ansible_collections.tfstate.s3_backend.plugins.modules import lockfile, lockfile_info, state_info
from tests.testbed.collection import run_module
from tests.testbed.fault_proxy import BlackHole, FaultProxy


def test_a_black_hole_endpoint_fails_the_module_within_the_configured_limits(aws_params):
    limits = {"connect_timeout": 1, "read_timeout": 1, "max_attempts": 2}
    with BlackHole() as hole:
        started = time.monotonic()
        result = run_module(lockfile_info, dict(aws_params, endpoint_url=hole.url, bucket="any", **limits))
        elapsed = time.monotonic() - started
        connections = len(hole.connections)
    assert result.get("failed"), result
    assert hole.url in result["msg"] and "read_timeout=1" in result["msg"], result["msg"]
    assert result["aws_error_code"] == "ReadTimeoutError"
    # Both attempts reached the endpoint and each gave up after read_timeout (botocore alone would wait 60 s).
    assert connections == 2
    assert elapsed < worst_case_seconds(**limits) + 10, elapsed


def test_every_request_carries_the_collection_user_agent(state_bucket, aws_params, moto_server):
    with FaultProxy(("127.0.0.1", moto_server.port)) as proxy:
        held = run_module(lockfile, dict(aws_params, endpoint_url=proxy.url, bucket=state_bucket,
                                         key="ua/terraform.tfstate", dynamodb_table="no-such-table"))
        listed = run_module(state_info, dict(aws_params, endpoint_url=proxy.url, bucket=state_bucket,
                                             key="ua/terraform.tfstate"))
        heads = list(proxy.heads)
    assert held.get("failed") and not listed.get("failed"), (held, listed)
    agents = [line.split(":", 1)[1].strip() for head in heads for line in head.split("\r\n")
              if line.lower().startswith("user-agent:")]
    assert len(agents) == len(heads) >= 3  # S3 PutObject, DynamoDB PutItem, S3 DeleteObject, ListObjectsV2
    assert any("dynamodb" in head.lower() for head in heads)
    assert all(USER_AGENT_EXTRA in agent for agent in agents), agents


def test_an_aws_error_names_the_operation_code_and_request_id(aws_params):
    result = run_module(state_info, dict(aws_params, bucket="no-such-bucket-for-request-id", key="k"))
    assert result.get("failed"), result
    assert result["aws_error_code"] == "NoSuchBucket" and result["aws_operation"] == "ListObjectsV2"
    assert result["aws_request_id"], result
    assert "request ID %s" % result["aws_request_id"] in result["msg"]
    assert "ListObjectsV2" in result["msg"] and "NoSuchBucket" in result["msg"]


def test_awx_security_token_is_sent_with_explicit_keys(state_bucket, aws_params, moto_server, monkeypatch):
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "token-from-awx")
    with FaultProxy(("127.0.0.1", moto_server.port)) as proxy:
        result = run_module(state_info, dict(aws_params, endpoint_url=proxy.url, bucket=state_bucket, key="k"))
        heads = list(proxy.heads)
    assert not result.get("failed"), result
    assert heads and all("x-amz-security-token: token-from-awx" in head.lower() for head in heads), heads


def test_backend_endpoints_route_each_service_and_an_assumed_role_is_cached(state_bucket, aws_params, moto_server):
    """S3 and STS go through the endpoints a backend names (a proxy here), DynamoDB to endpoint_url; a second
    connection for the same role and source credentials reuses the role's credentials instead of calling STS."""
    role = {"role_arn": "arn:aws:iam::123456789012:role/cache-%s" % state_bucket, "session_name": "tfstate-test"}
    params = dict(aws_params, assume_role=role)
    with FaultProxy(("127.0.0.1", moto_server.port)) as s3_proxy, \
            FaultProxy(("127.0.0.1", moto_server.port)) as sts_proxy:
        params["endpoints"] = {"s3": s3_proxy.url, "sts": sts_proxy.url}
        first = AwsConnection.from_params(params)
        assumed = len(sts_proxy.heads)
        call(first.client("s3"), "list_objects_v2", Bucket=state_bucket)
        call(first.client("dynamodb"), "list_tables")
        second = AwsConnection.from_params(params)
        again = len(sts_proxy.heads)
        caller = second.caller_identity()
        s3_heads = list(s3_proxy.heads)
    assert assumed == 1 and again == 1
    assert caller["arn"] == "arn:aws:sts::123456789012:assumed-role/cache-%s/tfstate-test" % state_bucket
    assert len(s3_heads) == 1 and s3_heads[0].startswith("GET /%s" % state_bucket)
    # The role's credentials signed the S3 request, not the source keys.
    assert "Credential=testing/" not in s3_heads[0] and "x-amz-security-token" in s3_heads[0].lower()
