# The walking-skeleton demo: `cargo xtask demo` runs this pipeline.
# Two stages; pre, main and post tasks; a dependency; a heredoc command; and an
# action output (exit_code) read by a later task.

variable "greeting" {
  type    = string
  default = "hello"
}

stage "build" {
  pre {
    task "prepare" {
      action "exec_command" {
        command = "echo preparing the ${var.greeting} build"
      }
    }
  }

  task "compile" {
    action "exec_command" {
      alias   = "compile"
      command = <<-EOT
        echo "compiling..."
        for i in 1 2 3; do
          echo "step $i"
        done
        echo "compiled" >&2
      EOT
    }
  }

  task "unit_test" {
    dependencies = ["compile"]
    action "exec_command" {
      command = "echo testing after compile exited with ${action_outputs.stage.build.task.compile.action.compile.exit_code}"
    }
  }

  post {
    task "report" {
      action "exec_command" {
        command = "echo build stage done"
      }
    }
  }
}

stage "release" {
  task "publish" {
    action "exec_command" {
      command = "echo publishing; echo prepare exited ${action_outputs.stage.build.pre.task.prepare.action.exec_command.exit_code}"
    }
  }
}
