# 002 "vcs_token example". Completed: a stage with a task using the gitlab plugin.
vcs_token "gitlab_token" {
provider_id = "prn:vcs_provider:my-org/gitlab"
}

plugin_requirements {
gitlab = {
source = "martian-cloud/gitlab"
}
}

plugin gitlab {
api_url = "https://gitlab.example.com/api/v4"
token_file = vcs_token.gitlab_token.file_path
auth_type = "oauth_token"
}

stage "main" {
  task "mr" {
    action "gitlab_create_merge_request" {
      title = "release"
    }
  }
}
