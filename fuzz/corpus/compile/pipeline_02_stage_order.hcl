# 002 "Stage order example". Completed: the three stages it orders are added,
# in a different file order, so the test shows stage_order wins.
stage_order = ["dev", "prod", "test"]

stage "test" {
  task "t" {}
}
stage "prod" {
  task "p" {}
}
stage "dev" {
  task "d" {}
}
