terraform {
  required_version = ">= 1.10.1"

  backend "s3" {
    bucket         = "acme-terraform-state"
    key            = "network/terraform.tfstate"
    region         = "eu-west-1"
    dynamodb_table = "acme-terraform-locks"
    encrypt        = true
  }
}

provider "aws" {
  region = "eu-west-1"
}

provider "aws" {
  alias  = "child"
  region = "eu-central-1"

  assume_role {
    role_arn = "arn:aws:iam::123456789012:role/terraform"
  }
}

module "vpc_peering" {
  source = "./modules/peering"

  providers = {
    aws        = aws
    aws.child  = aws.child
    aws.parent = aws
  }

  peer_vpc_id = module.child_vpc.vpc_id
}

module "dns" {
  source    = "./modules/dns"
  providers = { aws.dns = aws.child, aws = aws }
}
