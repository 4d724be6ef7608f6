variable "sleep_seconds" {
  type    = number
  default = 0
}

variable "serial" {
  type    = string
  default = "1"
}

# A new serial replaces the resource, so its provisioner (the sleep) runs on every apply.
resource "terraform_data" "probe" {
  input            = var.serial
  triggers_replace = var.serial

  provisioner "local-exec" {
    command = "sleep ${var.sleep_seconds}"
  }
}
