# 001 variable example. Completed: a stage whose deployment environment uses it.
variable "account_name" {
type = string
default = "account1"
}

stage "main" {
  deployment {
    environment = var.account_name
  }
}
