# 001 volume example. Completed: a stage whose pre task mounts it.
volume "tools" {
type = "vcs"
vcs_options {
provider_id = "vcs_provider_id"
repository_path = "martian/tools"
}
}

stage "dev" {
  pre {
    task "lint" {
      mount_point { volume = "tools" }
    }
  }
  deployment { environment = "dev" }
}
