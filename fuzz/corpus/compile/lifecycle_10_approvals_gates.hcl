# 001 approvals and gates example, verbatim.
plugin exec {}

stage "production" {
pre {
# Gate example - automated health check
task "health_check" {
interval = "2m"
attempts = 10
success_condition = "action_outputs.stage.production.pre.task.health_check.action.check_service.exit_code == 0"

action "exec_command" {
alias = "check_service"
command = "curl -f https://api.example.com/health"
}
}

# Approval gate - manual approval as a task
task "security_review" {
when = "manual"
approval_rules = [
"prn:approval_rule:org/security-team",
"prn:approval_rule:org/platform-team"
]
}
}

deployment {
environment = "prod"
approval_rules = ["prn:approval_rule:org/release-managers"]
}

post {
task "deployment_verification" {
when = "manual"
approval_rules = ["prn:approval_rule:org/qa-team"]
}
}
}
