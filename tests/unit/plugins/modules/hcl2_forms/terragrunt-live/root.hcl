locals {
  account    = read_terragrunt_config(find_in_parent_folders("account.hcl"))
  lock_table = "acme-terraform-locks"
  state_key  = "${path_relative_to_include()}/terraform.tfstate"
}

remote_state {
  backend = "s3"
  generate = {
    path      = "backend.tf"
    if_exists = "overwrite_terragrunt"
  }
  config = {
    bucket         = "acme-terraform-state-${local.account.locals.account_id}"
    key            = local.state_key
    region         = "eu-west-1"
    encrypt        = true
    dynamodb_table = "${local.lock_table}"
  }
}

generate "provider" {
  path      = "provider.tf"
  if_exists = "overwrite_terragrunt"
  contents  = <<EOF
provider "aws" {
  region = "eu-west-1"
%{if local.account.locals.assume~}
  assume_role {
    role_arn = "${local.account.locals.role_arn}"
  }
%{endif~}
}
EOF
}

inputs = {
  providers_map = { aws.child = "aws.child" }
  azs           = [for s in ["a", "b"] : "eu-west-1${s}"]
}
