//! Resource limits (`resourceLimits`, `updateResourceLimit`).

use phobos_commands::aggregates::{resource_limit_id, ResourceLimitCommand};
use phobos_projections::identity;

use super::{App, Code, ServiceError};
use crate::auth::Claims;

impl App {
    /// Every limit with its value now.
    pub async fn resource_limits(
        &self,
        claims: &Claims,
    ) -> Result<Vec<(String, i32)>, ServiceError> {
        self.user(claims)?;
        Ok(identity::resource_limits(&self.pool).await?)
    }

    /// `updateResourceLimit` (administrators only).
    #[tracing::instrument(skip_all, fields(limit = %name, value))]
    pub async fn update_resource_limit(
        &self,
        claims: &Claims,
        name: &str,
        value: i32,
    ) -> Result<(String, i32), ServiceError> {
        self.require_admin(claims).await?;
        if crate::limits::find(name).is_none() {
            let names: Vec<&str> = crate::limits::LIMITS.iter().map(|(n, _, _)| *n).collect();
            return Err(ServiceError::field(
                Code::Invalid,
                "name",
                format!(
                    "{name:?} is not a resource limit: use one of {}",
                    names.join(", ")
                ),
            ));
        }
        if value < 0 {
            return Err(ServiceError::field(
                Code::Invalid,
                "value",
                format!("{value} is not a limit: use 0 or more"),
            ));
        }
        let cmd = ResourceLimitCommand::UpdateResourceLimit {
            name: name.to_string(),
            value,
        };
        let appended = self
            .bus
            .resource_limit(&resource_limit_id(name), cmd, &self.context(claims))
            .await?;
        self.wait_projected(appended, "resource limit").await?;
        Ok((name.to_string(), value))
    }
}
