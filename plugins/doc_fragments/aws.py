# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

class ModuleDocFragment(object):
    # The AWS connection options, with amazon.aws's names and aliases.
    DOCUMENTATION = r"""
options:
  access_key:
    description:
      - AWS access key ID.
      - When unset, boto3's own chain applies (E(AWS_ACCESS_KEY_ID), shared credentials, instance roles).
    type: str
    aliases: [aws_access_key_id, aws_access_key, ec2_access_key]
  secret_key:
    description:
      - AWS secret access key.
      - When unset, boto3's own chain applies (E(AWS_SECRET_ACCESS_KEY), shared credentials, instance roles).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key, ec2_secret_key]
  session_token:
    description:
      - AWS STS session token for temporary credentials.
      - When unset and O(access_key) is given, E(AWS_SESSION_TOKEN), E(AWS_SECURITY_TOKEN) (set by AWX's AWS
        credential type) or E(EC2_SECURITY_TOKEN), the first one set.
      - When unset and the keys come from the environment, boto3 reads E(AWS_SESSION_TOKEN) or E(AWS_SECURITY_TOKEN).
    type: str
    aliases: [aws_session_token, security_token, aws_security_token, access_token]
  profile:
    description:
      - A named profile from the AWS shared configuration files.
      - Mutually exclusive with O(access_key) and O(secret_key).
      - When unset, boto3 reads E(AWS_PROFILE).
    type: str
    aliases: [aws_profile]
  region:
    description:
      - The AWS region to use.
      - Falls back to E(AWS_REGION), E(AWS_DEFAULT_REGION) or E(EC2_REGION), then to the profile's region.
    type: str
    aliases: [aws_region, ec2_region]
  endpoint_url:
    description:
      - Send API requests to this URL instead of AWS's (a moto server, MinIO, a VPC endpoint).
      - Falls back to E(AWS_URL) or E(EC2_URL); boto3 itself also honours E(AWS_ENDPOINT_URL).
      - With a custom endpoint, S3 requests use path-style addressing.
    type: str
    aliases: [aws_endpoint_url, ec2_url, s3_url]
  validate_certs:
    description:
      - When V(false), TLS certificates of the endpoint are not verified.
    type: bool
    default: true
  aws_ca_bundle:
    description:
      - The CA bundle to verify the endpoint's certificate with.
    type: path
  aws_config:
    description:
      - Extra botocore client configuration, as a dictionary of
        L(botocore.config.Config,https://botocore.amazonaws.com/v1/documentation/api/latest/reference/config.html)
        parameters.
      - botocore makes one attempt per call (C(retries.total_max_attempts=1), C(standard) mode unless C(retries)
        sets another C(mode)); the collection retries itself, as O(max_attempts) and O(retry_budget) say.
      - O(connect_timeout), O(read_timeout) and O(max_attempts), when given, win over the same settings here.
      - C(user_agent_extra) is extended with C(tfstate.s3_backend/<version>), which every request carries so
        CloudTrail can tell the collection's calls apart.
    type: dict
  connect_timeout:
    description:
      - Seconds to wait for a connection to the endpoint, per attempt.
      - When unset, C(connect_timeout) of O(aws_config), else V(5).
      - With the defaults, a call to an endpoint that accepts no connection or never answers fails after at most
        O(max_attempts) x (O(connect_timeout) + O(read_timeout)) = 51 seconds (and never later than
        O(retry_budget) + O(connect_timeout) + O(read_timeout)), plus a few seconds of backoff, naming the endpoint.
    type: float
    version_added: 0.1.0
  read_timeout:
    description:
      - Seconds to wait for an answer on an open connection, per attempt.
      - When unset, C(read_timeout) of O(aws_config), else V(12).
    type: float
    version_added: 0.1.0
  max_attempts:
    description:
      - How many times a call that gets no answer at all (a refused or timed-out connection, a read timeout) is
        tried in all, the first try included, within O(retry_budget).
      - When unset, C(retries.total_max_attempts) of O(aws_config) (or its C(retries.max_attempts), which botocore
        counts without the first try), else V(3).
    type: int
    version_added: 0.1.0
  retry_budget:
    description:
      - Seconds, from a call's first try, during which an answer AWS asks clients to retry is retried with
        capped, jittered exponential backoff (0.25 s doubling up to 8 s).
      - Retried so are throttling (C(SlowDown), C(Throttling), C(ThrottlingException), C(RequestLimitExceeded),
        C(ProvisionedThroughputExceededException) and the like), 5xx answers (C(InternalError),
        C(ServiceUnavailable)) and connections dropped midway (resets); no retry starts after the budget is spent.
      - When the budget is spent, the call fails naming the last error code and the AWS request ID.
      - When unset, V(60).
    type: float
    version_added: 0.1.0
requirements:
  - python >= 3.8
  - boto3
  - botocore
notes:
  - Credentials are never returned or logged.
  - An AWS error names the operation, the resource, the error code and the AWS request ID
    (also returned as C(aws_request_id)), which AWS support asks for.
  - For a Terraform root's migration phases (M(tfstate.s3_backend.root_preflight) and the phases that take its
    C(migration)), the backend's own C(profile), C(assume_role), C(region) and C(endpoints) win over
    O(profile), the access keys, O(region) and O(endpoint_url), as they do in terraform; these options fill
    what the backend leaves unset. C(backend_identity=false) on M(tfstate.s3_backend.root_preflight)
    (the migrate role's C(tfstate_aws_use_backend_identity)) makes these options win instead.
"""
