# 002 "Agent example". Completed: a stage with one task that inherits the tags
# and one that overrides them.
agent {
tags = ["example-tag", "example-tag-2"]
}

stage "main" {
  task "inherits" {}
  task "overrides" {
    agent {
      tags = ["special"]
    }
  }
}
