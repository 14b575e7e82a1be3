# 002 "Variable example". Completed: a stage whose task uses the variable.
variable "account_name" {
type = string
default = "account1"
}

stage "main" {
  task "show" {
    action "exec_command" {
      command = "echo ${var.account_name}"
    }
  }
}
