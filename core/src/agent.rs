//! Which agent may run which job. One rule, used both to decide whom a job
//! is offered to and whether a claim is allowed.

use serde::{Deserialize, Serialize};

use crate::events::AgentType;

/// What of an agent decides which jobs it may take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentScope {
    pub name: String,
    pub agent_type: AgentType,
    /// Set for organization agents.
    pub organization_id: Option<String>,
    pub tags: Vec<String>,
    pub run_untagged_jobs: bool,
}

impl AgentScope {
    /// `Ok` when this agent may run a job needing `job_tags` of a project in
    /// `job_organization_id`; otherwise why not, in words.
    ///
    /// - an organization agent takes only its organization's jobs; a shared
    ///   agent any organization's;
    /// - a tagged job needs every one of its tags on the agent;
    /// - an untagged job goes to agents that run untagged jobs.
    pub fn may_run(&self, job_tags: &[String], job_organization_id: &str) -> Result<(), String> {
        if self.agent_type == AgentType::Organization
            && self.organization_id.as_deref() != Some(job_organization_id)
        {
            return Err(format!(
                "agent {:?} is an organization agent of another organization",
                self.name
            ));
        }
        if job_tags.is_empty() {
            if self.run_untagged_jobs {
                return Ok(());
            }
            return Err(format!(
                "the job has no tags and agent {:?} does not run untagged jobs (runUntaggedJobs)",
                self.name
            ));
        }
        let missing: Vec<&String> = job_tags.iter().filter(|t| !self.tags.contains(t)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the job needs tags {job_tags:?} and agent {:?} lacks {missing:?}",
                self.name
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(
        agent_type: AgentType,
        org: Option<&str>,
        tags: &[&str],
        untagged: bool,
    ) -> AgentScope {
        AgentScope {
            name: "a".into(),
            agent_type,
            organization_id: org.map(String::from),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            run_untagged_jobs: untagged,
        }
    }

    #[test]
    fn tags_organizations_and_untagged_jobs() {
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let shared = agent(AgentType::Shared, None, &["linux", "gpu"], true);
        assert!(shared.may_run(&tags(&["linux"]), "o1").is_ok());
        assert!(shared.may_run(&tags(&["linux", "gpu"]), "o2").is_ok());
        assert!(shared.may_run(&[], "o1").is_ok());
        let no = shared.may_run(&tags(&["linux", "arm"]), "o1").unwrap_err();
        assert!(no.contains("\"arm\""), "{no}");

        let picky = agent(AgentType::Shared, None, &["linux"], false);
        assert!(picky
            .may_run(&[], "o1")
            .unwrap_err()
            .contains("runUntaggedJobs"));
        assert!(picky.may_run(&tags(&["linux"]), "o1").is_ok());

        let org = agent(AgentType::Organization, Some("o1"), &[], true);
        assert!(org.may_run(&[], "o1").is_ok());
        assert!(org
            .may_run(&[], "o2")
            .unwrap_err()
            .contains("another organization"));
    }
}
