# 002 "Dynamic blocks and for_each with Tharsis example", verbatim. Its
# `provider tharsis` is read as `plugin tharsis` with a warning. The required
# variable tharsis_groups gets its value from 13_dynamic.vars.hcl.
variable "tharsis_groups" {
type = list(object({
group_path = string
workspace_name = string
}))
}

plugin_requirements {
tharsis = {
source = "<registry-hostname>/<organization>/tharsis"
version = "0.2.0"
}
}

jwt "tharsis" {
audience = "tharsis"
}

provider tharsis {
api_url = "https://tharsis.example.com"
service_account_path = "example-group/example-service-account"
service_account_token = jwt.tharsis
}

stage "create_workspaces" {
dynamic "task" {
for_each = var.tharsis_groups
labels = [task.value.workspace_name]

content {
action "tharsis_create_workspace" {
group_path = task.value.group_path
name = task.value.workspace_name
description = "Automatically created workspace"
skip_if_exists = true
}
}
}
}
