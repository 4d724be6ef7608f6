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
