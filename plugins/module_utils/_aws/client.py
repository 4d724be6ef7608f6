# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one AWS layer, free of Ansible imports.

Sessions and clients are built from amazon.aws's option names; every API call goes
through :func:`call`, which turns botocore's many exceptions into one :class:`AwsError`
carrying the error code, the operation and the resource, so a module's ``main()`` can
fail with one clear message."""

import datetime
import os
try:
    import boto3
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # reported by the module through missing_required_lib
    boto3 = None
    Config = None

    class ClientError(Exception):
        """Stand-in so the except clauses below stay valid without botocore."""

    class BotoCoreError(Exception):
        """Stand-in so the except clauses below stay valid without botocore."""

    HAS_BOTO3 = False
else:
    HAS_BOTO3 = True

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.retries import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_READ_TIMEOUT,
    RetryPolicy,
    _UNREACHABLE,
    retry_kind,
)


# The collection's version, sent in every request's User-Agent (``tfstate.s3_backend/<version>``) so
# CloudTrail can tell the collection's calls apart. A unit test keeps it equal to galaxy.yml's.
COLLECTION_VERSION = "0.1.0"
USER_AGENT_EXTRA = "tfstate.s3_backend/%s" % COLLECTION_VERSION

# Where the session token is read from when access keys are given as options: AWX's AWS
# credential type injects AWS_SECURITY_TOKEN (older versions) or both.
SESSION_TOKEN_ENV = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "EC2_SECURITY_TOKEN")


def resolve_session_token(access_key, session_token, environ=None):
    """The session token to use with explicit access keys.

    An explicit ``session_token`` wins; with ``access_key`` given as an option and no token, the
    first of AWS_SESSION_TOKEN, AWS_SECURITY_TOKEN, EC2_SECURITY_TOKEN set in ``environ``. Without
    ``access_key`` the token is left to boto3's own chain (which reads both variables too), so a
    profile is never paired with a stray token.
    """
    if session_token:
        return session_token
    if not access_key:
        return None
    environ = os.environ if environ is None else environ
    for name in SESSION_TOKEN_ENV:
        if environ.get(name):
            return environ[name]
    return None


def session_token_env(environ=None):
    """Variables to add to a child process's environment (terraform, tofu) so it finds the session token.

    AWS SDKs standardised on AWS_SESSION_TOKEN; AWX's AWS credential type sets AWS_SECURITY_TOKEN (older
    versions only that one). Returns ``{"AWS_SESSION_TOKEN": value}`` when only AWS_SECURITY_TOKEN is set,
    else ``{}``; the caller merges it into the environment it passes on.
    """
    environ = os.environ if environ is None else environ
    if environ.get("AWS_SESSION_TOKEN") or not environ.get("AWS_SECURITY_TOKEN"):
        return {}
    return {"AWS_SESSION_TOKEN": environ["AWS_SECURITY_TOKEN"]}


def client_config(aws_config=None, connect_timeout=None, read_timeout=None, path_style=False):
    """The botocore Config parameters (a dict) of every client.

    Precedence: an option given > the same setting in ``aws_config`` > the collection's default.
    botocore makes one attempt per call (``retries.total_max_attempts`` 1, in the mode asked for,
    ``standard`` by default): the collection's RetryPolicy retries (see max_attempts_setting).
    ``user_agent_extra`` always carries ``tfstate.s3_backend/<version>`` (after the user's own).
    """
    config = dict(aws_config or {})
    if connect_timeout is not None or "connect_timeout" not in config:
        config["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
    if read_timeout is not None or "read_timeout" not in config:
        config["read_timeout"] = DEFAULT_READ_TIMEOUT if read_timeout is None else read_timeout
    retries = dict(config.get("retries") or {})
    retries.setdefault("mode", "standard")
    retries.pop("max_attempts", None)
    retries["total_max_attempts"] = 1
    config["retries"] = retries
    extra = config.get("user_agent_extra")
    config["user_agent_extra"] = ("%s %s" % (extra, USER_AGENT_EXTRA)) if extra and USER_AGENT_EXTRA not in extra \
        else (extra or USER_AGENT_EXTRA)
    if path_style:
        # Stand-ins for AWS (moto, MinIO, LocalStack) answer path-style requests only.
        config.setdefault("s3", {"addressing_style": "path"})
    return config


def max_attempts_setting(aws_config=None, max_attempts=None):
    """Tries in all of a call that gets no answer: the option > ``aws_config``'s retries > the default.

    botocore's ``retries.max_attempts`` counts retries only; ``total_max_attempts`` counts the first try too.
    """
    if max_attempts is not None:
        return max_attempts
    retries = (aws_config or {}).get("retries") or {}
    if retries.get("total_max_attempts") is not None:
        return retries["total_max_attempts"]
    if retries.get("max_attempts") is not None:
        return retries["max_attempts"] + 1
    return DEFAULT_MAX_ATTEMPTS


class AwsError(Exception):
    """One failed AWS call: what was attempted, on what, and what AWS answered."""

    def __init__(self, message, operation=None, resource=None, code=None, status=None, request_id=None):
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.resource = resource
        self.code = code
        self.status = status
        self.request_id = request_id

    def __str__(self):
        parts = []
        if self.operation:
            parts.append(self.operation)
        if self.resource:
            parts.append("on %s" % self.resource)
        head = " ".join(parts)
        why = ", ".join(text for text in (
            self.code, "request ID %s" % self.request_id if self.request_id else None) if text)
        if why:
            head = "%s failed (%s)" % (head, why) if head else why
        elif head:
            head = "%s failed" % head
        return "%s: %s" % (head, self.message) if head else self.message

    def to_result(self):
        """The fields a module adds to its failure result."""
        return {
            "aws_error_code": self.code,
            "aws_operation": self.operation,
            "aws_resource": self.resource,
            "http_status": self.status,
            "aws_request_id": self.request_id,
        }


def error_code(exc):
    """The AWS error code of a ClientError or AwsError, else None."""
    if isinstance(exc, AwsError):
        return exc.code
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code")


def _operation_name(client, method):
    try:
        return client.meta.method_to_api_mapping.get(method, method)
    except AttributeError:
        return method


# IAM actions whose name is not "<service>:<operation>".
_IAM_ACTIONS = {
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("s3", "GetObjectLockConfiguration"): "s3:GetBucketObjectLockConfiguration",
    ("s3", "PutObjectLockConfiguration"): "s3:PutBucketObjectLockConfiguration",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("s3", "PutBucketLifecycleConfiguration"): "s3:PutLifecycleConfiguration",
    ("s3", "DeleteBucketLifecycle"): "s3:PutLifecycleConfiguration",
    ("s3", "DeleteBucketTagging"): "s3:PutBucketTagging",
}
_ACCESS_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403")


def iam_action(service, operation, versioned=False):
    """The IAM action that authorises ``operation`` of ``service`` (``s3``, ``dynamodb``, ...).

    ``versioned``: the S3 request names a ``VersionId`` (GetObject then needs ``s3:GetObjectVersion``).
    """
    if not service or not operation:
        return None
    action = _IAM_ACTIONS.get((service, operation), "%s:%s" % (service, operation))
    if versioned and action in ("s3:GetObject", "s3:DeleteObject"):
        action += "Version"
    return action


def client_error(exc, operation, resource, service=None, versioned=False):
    """The AwsError of a botocore ClientError: code, message, HTTP status and request ID.

    An access denial names the IAM action that was missing (S3 and some services do not say it).
    """
    response = getattr(exc, "response", None) or {}
    metadata = response.get("ResponseMetadata", {})
    request_id = metadata.get("RequestId") or (metadata.get("HTTPHeaders") or {}).get("x-amz-request-id")
    code = response.get("Error", {}).get("Code")
    message = response.get("Error", {}).get("Message") or str(exc)
    action = iam_action(service, operation, versioned)
    if (code in _ACCESS_DENIED or metadata.get("HTTPStatusCode") == 403) and action and action not in message:
        message = "%s (the credentials lack the IAM permission %s on this resource)" % (message, action)
    if retry_kind(code, metadata.get("HTTPStatusCode")) == "budget" and metadata.get("RetryAttempts"):
        message = "%s (still so after %s retries: the retry budget is spent)" % (message, metadata["RetryAttempts"])
    return AwsError(message, operation=operation, resource=resource, code=code, status=metadata.get("HTTPStatusCode"),
                    request_id=request_id)


def _service(client):
    try:
        return client.meta.service_model.service_name
    except AttributeError:
        return None


def transport_error(exc, client, operation, resource):
    """The AwsError of a BotoCoreError; a timeout or unreachable endpoint names the endpoint and the limits."""
    code = type(exc).__name__
    message = str(exc)
    if code in _UNREACHABLE:
        try:
            endpoint = client.meta.endpoint_url
            config = client.meta.config
            policy = getattr(client, "tfstate_retry", None)
            attempts = policy.max_attempts if policy else (config.retries or {}).get("total_max_attempts")
            budget = ", retry_budget=%ss" % policy.budget if policy else ""
            message = "no answer from endpoint %s (connect_timeout=%ss, read_timeout=%ss, max_attempts=%s%s): %s" % (
                endpoint, config.connect_timeout, config.read_timeout, attempts, budget, message)
        except AttributeError:
            pass
    return AwsError(message, operation=operation, resource=resource, code=code)


def call(client, method, resource=None, ignore_codes=(), **kwargs):
    """Call ``client.<method>(**kwargs)``; raise AwsError on failure.

    ``ignore_codes``: AWS error codes that mean "not there" for this call; the call then
    returns None instead of raising (for example NoSuchBucketPolicy on GetBucketPolicy).
    """
    operation = _operation_name(client, method)
    try:
        return getattr(client, method)(**kwargs)
    except ClientError as exc:
        error = client_error(exc, operation, resource, _service(client), bool(kwargs.get("VersionId")))
        if error.code in ignore_codes:
            return None
        raise error
    except BotoCoreError as exc:
        raise transport_error(exc, client, operation, resource)


def paginate(client, method, resource=None, **kwargs):
    """Yield the pages of a paginated call, with the same error handling as call()."""
    operation = _operation_name(client, method)
    try:
        yield from client.get_paginator(method).paginate(**kwargs)
    except ClientError as exc:
        raise client_error(exc, operation, resource, _service(client))
    except BotoCoreError as exc:
        raise transport_error(exc, client, operation, resource)


# Assumed roles' credentials in this process: (role, source credentials, ...) -> STS Credentials.
_ROLE_CACHE = {}
# Credentials closer to their expiry than this are renewed.
ROLE_RENEW_SECONDS = 300


def assume_role_request(role):
    """The AssumeRole parameters of a backend's assume_role keys (see backend_identity.ASSUME_ROLE_KEYS)."""
    request = {"RoleArn": role["role_arn"], "RoleSessionName": role.get("session_name") or "tfstate-s3-backend"}
    if role.get("external_id"):
        request["ExternalId"] = role["external_id"]
    if role.get("duration"):
        request["DurationSeconds"] = int(role["duration"])
    if role.get("policy"):
        request["Policy"] = role["policy"]
    if role.get("policy_arns"):
        request["PolicyArns"] = [{"arn": arn} for arn in role["policy_arns"]]
    if role.get("tags"):
        request["Tags"] = [{"Key": key, "Value": str(value)} for key, value in sorted(role["tags"].items())]
    if role.get("transitive_tag_keys"):
        request["TransitiveTagKeys"] = list(role["transitive_tag_keys"])
    if role.get("source_identity"):
        request["SourceIdentity"] = role["source_identity"]
    return request


def _expires_soon(expiration, now=None):
    if expiration is None:
        return False
    if not isinstance(expiration, datetime.datetime):
        return True
    # The real time, not clock.now(): STS's expiry is real, and a simulated TFSTATE_NOW must not renew or keep
    # credentials by it.
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=datetime.timezone.utc)
    return (expiration - now).total_seconds() < ROLE_RENEW_SECONDS


def _session(profile, region, access_key, secret_key, session_token, config_file=None, credentials_file=None):
    """A boto3 session; ``config_file``/``credentials_file`` replace AWS_CONFIG_FILE/AWS_SHARED_CREDENTIALS_FILE."""
    try:
        core = None
        if config_file or credentials_file:
            core = botocore.session.Session()
            if config_file:
                core.set_config_variable("config_file", os.path.expanduser(config_file))
            if credentials_file:
                core.set_config_variable("credentials_file", os.path.expanduser(credentials_file))
        return boto3.session.Session(
            profile_name=profile or None,
            region_name=region or None,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            aws_session_token=session_token,
            botocore_session=core,
        )
    except BotoCoreError as exc:
        raise AwsError(str(exc), operation="CreateSession", resource=profile, code=type(exc).__name__)


class AwsConnection:
    """A boto3 session plus the client settings shared by every client it makes.

    Built from amazon.aws's option names; options left unset fall through to boto3's own
    chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, instance roles, ...).
    """

    def __init__(self, profile=None, region=None, access_key=None, secret_key=None,
                 session_token=None, endpoint_url=None, validate_certs=True, aws_ca_bundle=None,
                 aws_config=None, max_attempts=None, connect_timeout=None, read_timeout=None, environ=None,
                 endpoints=None, config_file=None, credentials_file=None, path_style=None, sts_region=None,
                 assume_role=None, retry_budget=None):
        if not HAS_BOTO3:
            raise AwsError("boto3 and botocore are required", code="MissingLibrary")
        if profile and (access_key or secret_key):
            raise AwsError("Pass either a profile or access keys, not both", code="InvalidParameter")
        self.session = _session(profile, region, access_key, secret_key,
                                resolve_session_token(access_key, session_token, environ), config_file,
                                credentials_file)
        self.endpoint_url = endpoint_url or None
        # Per-service endpoints (a backend's endpoints { s3 = ..., dynamodb = ..., sts = ... }) win over endpoint_url.
        self.endpoints = {service: url for service, url in (endpoints or {}).items() if url}
        self.sts_region = sts_region or None
        if validate_certs is False:
            self.verify = False
        else:
            self.verify = aws_ca_bundle or None
        if path_style is None:
            path_style = bool(self.endpoint_url or self.endpoints.get("s3"))
        try:
            self.config = Config(**client_config(aws_config, connect_timeout, read_timeout, path_style=path_style))
        except TypeError as exc:
            raise AwsError("aws_config: %s" % exc, code="InvalidParameter")
        self.retry = RetryPolicy(max_attempts_setting(aws_config, max_attempts), retry_budget)
        self.role = None
        if assume_role:
            self.assume(assume_role)

    @property
    def region(self):
        return self.session.region_name

    def client(self, service, region=None):
        if service == "sts" and not region:
            region = self.sts_region
        return self.retry.attach(self.session.client(
            service,
            region_name=region or self.session.region_name,
            endpoint_url=self.endpoints.get(service) or self.endpoint_url,
            verify=self.verify,
            config=self.config,
        ))

    def assume(self, role):
        """Take on ``role`` (assume_role keys of a backend) through STS; the calls after this run as the role.

        The role's credentials are cached per (role, source credentials) in this process, and
        reused while they have more than five minutes left.
        """
        source = self.session.get_credentials()
        source_key = source.get_frozen_credentials().access_key if source is not None else None
        cache_key = (repr(sorted(role.items())), source_key, self.endpoints.get("sts") or self.endpoint_url,
                     self.sts_region or self.session.region_name)
        credentials = _ROLE_CACHE.get(cache_key)
        if credentials is None or _expires_soon(credentials.get("Expiration")):
            answer = call(self.client("sts"), "assume_role", resource="role %s" % role["role_arn"],
                          **assume_role_request(role))
            credentials = answer["Credentials"]
            _ROLE_CACHE[cache_key] = credentials
        self.session = boto3.session.Session(
            region_name=self.session.region_name,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        self.role = role["role_arn"]

    def caller_identity(self):
        """``{"account", "arn"}`` of the principal the calls run as (STS GetCallerIdentity); never a secret."""
        answer = call(self.client("sts"), "get_caller_identity", resource="caller identity")
        return {"account": answer.get("Account"), "arn": answer.get("Arn")}

    @classmethod
    def from_params(cls, params):
        """Build from a module's params (or any dict with amazon.aws's option names)."""
        return cls(
            profile=params.get("profile"),
            region=params.get("region"),
            access_key=params.get("access_key"),
            secret_key=params.get("secret_key"),
            session_token=params.get("session_token"),
            endpoint_url=params.get("endpoint_url"),
            validate_certs=params.get("validate_certs", True),
            aws_ca_bundle=params.get("aws_ca_bundle"),
            aws_config=params.get("aws_config"),
            max_attempts=params.get("max_attempts"),
            connect_timeout=params.get("connect_timeout"),
            read_timeout=params.get("read_timeout"),
            endpoints=params.get("endpoints"),
            config_file=params.get("config_file"),
            credentials_file=params.get("credentials_file"),
            path_style=params.get("path_style"),
            sts_region=params.get("sts_region"),
            assume_role=params.get("assume_role"),
            retry_budget=params.get("retry_budget"),
        )
