remote_state {
  backend = "s3"
  config = {
    bucket         = "state"
    key            = "${path_relative_to_include()}/terraform.tfstate"
    region         = "us-east-1"
    dynamodb_table = "locks"
    endpoints = {
      dynamodb = "http://localhost:4566"
      s3       = "http://localhost:4566"
    }
  }
}
