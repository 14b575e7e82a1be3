# 002 "Pipeline example 1". Completed: the placeholder "<pipeline_template_id>"
# is replaced by a PRN, since the placeholder is neither a PRN nor an id.
stage dev {
pipeline "deploy" {
pipeline_type = "deployment"
environment = "account1"
template_id = "prn:pipeline_template:my-org/my-project/deploy"
approval_rules = [
"prn:approval_rule:example_approval_rule",
"prn:approval_rule:example_approval_rule_2"
]
when = "manual"
}
}
