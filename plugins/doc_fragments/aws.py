# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


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
      - When unset, boto3 reads E(AWS_SESSION_TOKEN).
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
      - Standard retries (5 attempts) are used unless C(retries) is given here.
    type: dict
requirements:
  - python >= 3.8
  - boto3
  - botocore
notes:
  - Credentials are never returned or logged.
"""
