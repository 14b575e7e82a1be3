# 001 stage_order example. Completed: the three stages it orders are added,
# each with one deployment.
stage_order = ["dev", "prod", "test"]

stage "test" {
  deployment { environment = "test" }
}
stage "prod" {
  deployment { environment = "prod" }
}
stage "dev" {
  deployment { environment = "dev" }
}
