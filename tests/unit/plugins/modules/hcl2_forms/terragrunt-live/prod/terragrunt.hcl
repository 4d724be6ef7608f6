include "root" {
  path = find_in_parent_folders("root.hcl")
}

inputs = {
  subnets = dependency.vpc.outputs.private_subnets[*].id
  tags    = { for k, v in local.tags : k => v if v != null }
}
