# 001 pre and post example, verbatim.
stage "production" {
pre {
task "health_check" {
action "exec_command" {
command = "echo 'Running pre-deployment health check'"
}
}

task "backup" {
dependencies = ["health_check"]
action "exec_command" {
command = "echo 'Creating backup before deployment'"
}
}
}

deployment {
environment = "production"
when = "manual"
approval_rules = ["prn:approval_rule:release_manager_approval"]
}

post {
task "verify" {
action "exec_command" {
command = "echo 'Verifying deployment success'"
}
}
}
}
