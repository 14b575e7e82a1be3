//! The aggregate types, as the event log's `aggregate_type` column stores
//! them (and as GraphQL global ids name their kind). One constant each: the
//! stored names never change.

pub const ORGANIZATION: &str = "Organization";
pub const PROJECT: &str = "Project";
pub const PIPELINE_TEMPLATE: &str = "PipelineTemplate";
pub const PIPELINE: &str = "Pipeline";
pub const AGENT: &str = "Agent";
pub const JOB: &str = "Job";
pub const ENVIRONMENT: &str = "Environment";
pub const USER: &str = "User";
pub const TEAM: &str = "Team";
/// Not an aggregate of its own (memberships live in organizations and
/// projects): the kind of a membership's global id.
pub const MEMBERSHIP: &str = "Membership";
pub const APPROVAL_RULE: &str = "ApprovalRule";
pub const SIGNING_KEY: &str = "SigningKey";
pub const SERVICE_ACCOUNT: &str = "ServiceAccount";
pub const RESOURCE_LIMIT: &str = "ResourceLimit";
pub const RELEASE_LIFECYCLE: &str = "ReleaseLifecycle";
pub const RELEASE: &str = "Release";
