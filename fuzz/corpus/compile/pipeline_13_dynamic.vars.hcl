tharsis_groups = [
  { group_path = "team-a", workspace_name = "alpha" },
  { group_path = "team-b", workspace_name = "beta" },
]
