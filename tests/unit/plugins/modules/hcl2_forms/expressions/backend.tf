terraform {
  backend "s3" {
    bucket         = "acme-terraform-state"
    key            = "apps/web/terraform.tfstate"
    region         = "us-east-1"
    dynamodb_table = "terraform-locks" # the lock table
  }
}

locals {
  subnet_ids   = aws_subnet.private[*].id
  legacy_ids   = aws_subnet.private.*.id
  first_az     = data.aws_availability_zones.available.names[0]
  public_cidrs = [for s in var.subnets : s.cidr if s.public]
  by_name      = { for s in var.subnets : s.name => s... if s.name != "" }
  tags_by_key  = { for k, v in var.tags : lower(k) => v }
  zone         = var.private ? aws_route53_zone.private[0].zone_id : aws_route53_zone.public[0].zone_id
  largest      = max(var.sizes...)
  arn_region   = provider::aws::arn_parse(var.role_arn).region
  nested       = var.config["web"].ports[0]
  greeting     = "Hello, %{if var.name != ""}${var.name}%{else}stranger%{endif}!"
  tag_keys     = { (var.tag_key) = "owned", "${var.env}-team" = var.team }
  maps         = { var.primary.name = 1, module.x.outputs["k"] = 2 }

  user_data = <<-EOT
    #!/bin/bash
    %{~for ip in var.peers~}
    echo "${ip}" >> /etc/peers
    %{~endfor~}
    %{if var.debug}set -x%{endif}
    echo "$${HOME} and %%{ not a directive }"
  EOT
}

resource "aws_instance" "web" {
  count         = var.enabled ? length(var.azs) : 0
  ami           = var.ami_id
  instance_type = "t3.micro"
  subnet_id     = element(local.subnet_ids, count.index)

  dynamic "ebs_block_device" {
    for_each = { for d in var.disks : d.name => d }
    content {
      device_name = ebs_block_device.value.device
      volume_size = ebs_block_device.value.size
    }
  }

  tags = merge(var.tags, { Name = "web-${count.index}" })
}
