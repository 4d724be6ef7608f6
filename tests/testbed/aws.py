"""Clients of the test bed's moto server."""

REGION = "us-east-1"


def client(server, service):
    """A boto3 client of ``service`` on the moto server ``server`` (path-style S3 addressing)."""
    import boto3
    from botocore.config import Config
    return boto3.client(
        service, endpoint_url=server.url, region_name=REGION, aws_access_key_id="testing",
        aws_secret_access_key="testing", config=Config(s3={"addressing_style": "path"}),
    )


# Tests under moto's IAM enforcement: the first requests (create_user, put_user_policy and
# create_access_key of the administrator) are not checked, so that an administrator can be made.
UNCHECKED_SETUP_REQUESTS = 3
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def keyed_client(server, service, keys, token=None):
    """A boto3 client of ``service`` on ``server`` as the principal of ``keys`` (no retries: a denial shows at once)."""
    import boto3
    from botocore.config import Config
    return boto3.client(service, endpoint_url=server.url, region_name=REGION, aws_access_key_id=keys[0],
                        aws_secret_access_key=keys[1], aws_session_token=token,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def user_with_policy(iam, name, policy):
    """Create IAM user ``name`` with the inline ``policy`` (a dict); its ``(access key, secret key)``."""
    import json
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]
