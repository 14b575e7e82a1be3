# 002 "Schedule example". Completed: the variable nested_pipeline_prn it uses
# is declared with a PRN default.
variable "nested_pipeline_prn" {
  type    = string
  default = "prn:pipeline_template:my-org/my-project/nested"
}

stage "main" {
task "t1" {
schedule {
type = "datetime"
options = {
value = "2024-11-25T14:50:00.000Z"
}
}
}

task "t2" {
schedule {
type = "cron"
options = {
expression = "* * * * 5#3"
timezone = "America/New_York"
}
}
}

pipeline "p1" {
when = "auto"
schedule {
type = "cron"
options = {
expression = "* 12 * * *"
timezone = "UTC"
}
}
template_id = var.nested_pipeline_prn
}
}
