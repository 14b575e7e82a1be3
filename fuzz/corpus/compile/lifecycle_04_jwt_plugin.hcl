# 001 jwt, plugin and plugin_requirements example. Completed: a stage with a
# deployment.
plugin_requirements {
tharsis = {
source = "martian-cloud/tharsis"
version = "0.2.0"
}
}

jwt "tharsis" {
audience = "tharsis"
}

plugin tharsis {
api_url = "https://api.tharsis.example.com"
service_account_token = jwt.tharsis
service_account_path = "example-tharsis-group/example-service-account"
}

stage "dev" {
  deployment { environment = "dev" }
}
