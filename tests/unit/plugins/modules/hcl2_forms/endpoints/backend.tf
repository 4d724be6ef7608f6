terraform {
  backend "s3" {
    bucket         = "state"
    key            = "localstack/terraform.tfstate"
    region         = "us-east-1"
    dynamodb_table = "locks"
    use_path_style = true

    endpoints = {
      s3       = "http://localhost:4566"
      dynamodb = "http://localhost:4566" # LocalStack serves both
      sts      = "http://localhost:4566"
    }

    skip_credentials_validation = true
  }
}
