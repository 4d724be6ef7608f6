variable "sleep_seconds" {
  type    = number
  default = 0
}

variable "serial" {
  type    = string
  default = "1"
}

# With a release file, the provisioner waits until the file exists (at most sleep_seconds) instead of a fixed
# sleep: a test holds terraform's lock exactly as long as it needs, however loaded the machine is.
variable "release_file" {
  type    = string
  default = ""
}

# A new serial replaces the resource, so its provisioner (the sleep) runs on every apply.
resource "terraform_data" "probe" {
  input            = var.serial
  triggers_replace = var.serial

  provisioner "local-exec" {
    command = (var.release_file == "" ? "sleep ${var.sleep_seconds}" :
    "t=0; while [ ! -e '${var.release_file}' ] && [ $t -lt ${var.sleep_seconds * 10} ]; do sleep 0.1; t=$((t+1)); done")
  }
}
