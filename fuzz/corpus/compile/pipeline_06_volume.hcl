# 002 "volume example". Completed: a stage with a task mounting the volume.
volume "tools" {
type = "vcs"
vcs_options {
provider_id = "vcs_provider_id"
repository_path = "martian/tools"
}
}

stage "main" {
  task "use_tools" {
    mount_point {
      volume = "tools"
    }
    action "exec_command" {
      command = "ls"
    }
  }
}
