# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's retries of AWS calls: throttling and transient faults retried with capped,
jittered backoff until a call's retry budget is spent; an endpoint that never answers is tried
``max_attempts`` times. No Ansible imports."""

import random
import time


# Retries are the collection's own (RetryPolicy, on every client's needs-retry event; botocore makes
# one attempt): an endpoint that answers, but with throttling, a 5xx or a dropped connection, is
# asked again with capped, jittered exponential backoff until the call's retry budget is spent
# (DEFAULT_RETRY_BUDGET seconds from its first attempt); an endpoint that gives no answer at all
# (refused or timed-out connection, read timeout) is tried max_attempts times in all, so a dead
# endpoint still costs a call at most max_attempts * (connect_timeout + read_timeout) seconds
# (3 * (5 + 12) = 51 s, plus a few seconds of backoff), instead of botocore's 60 s + 60 s per attempt.
# AWS's 409 ConditionalRequestConflict on racing conditional writes is retried by the lock code itself.
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_CONNECT_TIMEOUT = 5
DEFAULT_READ_TIMEOUT = 12
DEFAULT_RETRY_BUDGET = 60
# Backoff before retry n (1, 2, ...): between half and all of min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (n - 1)) seconds.
BACKOFF_BASE = 0.25
BACKOFF_CAP = 8.0

# Error codes AWS asks clients to retry: throttling, and transient server-side faults.
THROTTLING_CODES = (
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
    "ProvisionedThroughputExceeded", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "TransactionInProgressException",
)
TRANSIENT_CODES = ("RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure",
                   "ServiceUnavailable", "InternalServerError")
TRANSIENT_STATUSES = (500, 502, 503, 504)
# botocore exceptions of an endpoint that answered in part and dropped the connection (a reset): retried by budget.
_DROPPED = ("ConnectionClosedError", "HTTPClientError", "ProxyConnectionError")

# botocore exceptions that mean the endpoint did not answer in time or at all.
_UNREACHABLE = ("ConnectTimeoutError", "ReadTimeoutError", "EndpointConnectionError", "ConnectionClosedError")
# Of those, the ones where no answer came at all: tried max_attempts times (a dropped connection is retried by budget).
_NO_ANSWER = ("ConnectTimeoutError", "ReadTimeoutError", "EndpointConnectionError")


def worst_case_seconds(connect_timeout, read_timeout, max_attempts, retry_budget=None):
    """How long one call to an endpoint that never answers can take, backoff aside.

    ``max_attempts`` tries of ``connect_timeout + read_timeout`` each; with ``retry_budget``, no try
    starts after the budget is spent, so the call also ends within one try past the budget.
    """
    worst = max_attempts * (connect_timeout + read_timeout)
    if retry_budget is not None:
        worst = min(worst, retry_budget + connect_timeout + read_timeout)
    return worst


def backoff_seconds(retry, rand=random.random):
    """The wait before retry ``retry`` (1, 2, ...): capped exponential, jittered over its upper half."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (retry - 1)))
    return ceiling / 2 + rand() * ceiling / 2


def retry_kind(code=None, status=None, exception=None):
    """How a failed attempt is retried: ``budget`` (the endpoint answered: throttling, 5xx, a dropped
    connection), ``attempts`` (no answer: refused or timed-out connection, read timeout), or None (not at all)."""
    if exception is not None:
        if exception in _NO_ANSWER:
            return "attempts"
        return "budget" if exception in _DROPPED else None
    if code in THROTTLING_CODES or code in TRANSIENT_CODES or status in TRANSIENT_STATUSES:
        return "budget"
    return None


def retry_delay(kind, attempts, elapsed, budget, max_attempts, rand=random.random):
    """Seconds to wait before trying again after ``attempts`` tries and ``elapsed`` seconds, or None to give up.

    A ``budget`` failure is retried while the wait still ends inside ``budget`` seconds from the
    first try; an ``attempts`` failure also only until ``max_attempts`` tries were made.
    """
    if kind is None or (kind == "attempts" and attempts >= max_attempts):
        return None
    delay = backoff_seconds(attempts, rand)
    if elapsed + delay >= budget:
        return None
    return delay


class RetryPolicy:
    """The collection's retries of every call of a client (see retry_delay), on botocore's events."""

    def __init__(self, max_attempts=None, budget=None, clock=time.monotonic):
        self.max_attempts = DEFAULT_MAX_ATTEMPTS if max_attempts is None else max_attempts
        self.budget = DEFAULT_RETRY_BUDGET if budget is None else budget
        self.clock = clock

    def attach(self, client):
        client.meta.events.register("before-call", self.started)
        client.meta.events.register("needs-retry", self.needs_retry)
        client.tfstate_retry = self
        return client

    def started(self, context=None, **kwargs):
        if context is not None:
            context["tfstate_retry_started"] = self.clock()

    def needs_retry(self, response=None, caught_exception=None, attempts=1, request_dict=None, **kwargs):
        """botocore's needs-retry hook: the seconds to sleep before the next attempt, or None."""
        if caught_exception is not None:
            kind = retry_kind(exception=type(caught_exception).__name__)
        elif response is not None:
            # An S3 region redirect (301) is none of these: botocore's own handler, called first, follows it.
            http, parsed = response
            kind = retry_kind(parsed.get("Error", {}).get("Code"), http.status_code)
        else:
            return None
        context = (request_dict or {}).get("context") or {}
        started = context.setdefault("tfstate_retry_started", self.clock())
        return retry_delay(kind, attempts, self.clock() - started, self.budget, self.max_attempts)
