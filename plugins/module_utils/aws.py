# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one AWS layer, free of Ansible imports.

Sessions and clients are built from amazon.aws's option names; every API call goes
through :func:`call`, which turns botocore's many exceptions into one :class:`AwsError`
carrying the error code, the operation and the resource, so a module's ``main()`` can
fail with one clear message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import boto3
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

# Standard retries cover throttling and 5xx answers; AWS's 409 ConditionalRequestConflict
# on racing conditional writes is retried by the lock code itself.
DEFAULT_MAX_ATTEMPTS = 5


class AwsError(Exception):
    """One failed AWS call: what was attempted, on what, and what AWS answered."""

    def __init__(self, message, operation=None, resource=None, code=None, status=None):
        super(AwsError, self).__init__(message)
        self.message = message
        self.operation = operation
        self.resource = resource
        self.code = code
        self.status = status

    def __str__(self):
        parts = []
        if self.operation:
            parts.append(self.operation)
        if self.resource:
            parts.append("on %s" % self.resource)
        head = " ".join(parts)
        if self.code:
            head = "%s failed (%s)" % (head, self.code) if head else self.code
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


def call(client, method, resource=None, ignore_codes=(), **kwargs):
    """Call ``client.<method>(**kwargs)``; raise AwsError on failure.

    ``ignore_codes``: AWS error codes that mean "not there" for this call; the call then
    returns None instead of raising (for example NoSuchBucketPolicy on GetBucketPolicy).
    """
    operation = _operation_name(client, method)
    try:
        return getattr(client, method)(**kwargs)
    except ClientError as exc:
        response = exc.response or {}
        code = response.get("Error", {}).get("Code")
        if code in ignore_codes:
            return None
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = response.get("Error", {}).get("Message") or str(exc)
        raise AwsError(message, operation=operation, resource=resource, code=code, status=status)
    except BotoCoreError as exc:
        raise AwsError(str(exc), operation=operation, resource=resource, code=type(exc).__name__)


def paginate(client, method, resource=None, **kwargs):
    """Yield the pages of a paginated call, with the same error handling as call()."""
    operation = _operation_name(client, method)
    try:
        yield from client.get_paginator(method).paginate(**kwargs)
    except ClientError as exc:
        response = exc.response or {}
        raise AwsError(
            response.get("Error", {}).get("Message") or str(exc),
            operation=operation,
            resource=resource,
            code=response.get("Error", {}).get("Code"),
            status=response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
        )
    except BotoCoreError as exc:
        raise AwsError(str(exc), operation=operation, resource=resource, code=type(exc).__name__)


class AwsConnection:
    """A boto3 session plus the client settings shared by every client it makes.

    Built from amazon.aws's option names; options left unset fall through to boto3's own
    chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, instance roles, ...).
    """

    def __init__(self, profile=None, region=None, access_key=None, secret_key=None,
                 session_token=None, endpoint_url=None, validate_certs=True, aws_ca_bundle=None,
                 aws_config=None, max_attempts=DEFAULT_MAX_ATTEMPTS):
        if not HAS_BOTO3:
            raise AwsError("boto3 and botocore are required", code="MissingLibrary")
        if profile and (access_key or secret_key):
            raise AwsError("Pass either a profile or access keys, not both", code="InvalidParameter")
        try:
            self.session = boto3.session.Session(
                profile_name=profile or None,
                region_name=region or None,
                aws_access_key_id=access_key or None,
                aws_secret_access_key=secret_key or None,
                aws_session_token=session_token or None,
            )
        except BotoCoreError as exc:
            raise AwsError(str(exc), operation="CreateSession", resource=profile, code=type(exc).__name__)
        self.endpoint_url = endpoint_url or None
        if validate_certs is False:
            self.verify = False
        else:
            self.verify = aws_ca_bundle or None
        config = dict(aws_config or {})
        config.setdefault("retries", {"mode": "standard", "max_attempts": max_attempts})
        if self.endpoint_url:
            # Stand-ins for AWS (moto, MinIO, LocalStack) answer path-style requests only.
            config.setdefault("s3", {"addressing_style": "path"})
        self.config = Config(**config)

    @property
    def region(self):
        return self.session.region_name

    def client(self, service, region=None):
        return self.session.client(
            service,
            region_name=region or self.session.region_name,
            endpoint_url=self.endpoint_url,
            verify=self.verify,
            config=self.config,
        )

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
        )
