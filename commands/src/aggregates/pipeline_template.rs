use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use phobos_core::events::aggregate;
use phobos_core::events::PipelineTemplateEvent;
use serde::{Deserialize, Serialize};

use super::{command_name, Stored};
use crate::clock::Services;
use crate::error::DomainError;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PipelineTemplate {
    created: bool,
}

/// The caller has checked the HCL with the template engine and stored it
/// in the object store under `object_key` before sending this.
#[derive(Debug, Clone, Deserialize)]
pub enum PipelineTemplateCommand {
    CreatePipelineTemplate {
        project_id: String,
        name: String,
        object_key: String,
        sha256: String,
        size: u64,
    },
}
command_name!(PipelineTemplateCommand {
    CreatePipelineTemplate
});

impl Aggregate for PipelineTemplate {
    const TYPE: &'static str = aggregate::PIPELINE_TEMPLATE;
    type Command = PipelineTemplateCommand;
    type Event = Stored<PipelineTemplateEvent>;
    type Error = DomainError;
    type Services = Services;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        match command {
            PipelineTemplateCommand::CreatePipelineTemplate {
                project_id,
                name,
                object_key,
                sha256,
                size,
            } => {
                if self.created {
                    return Err(DomainError::AlreadyExists("this pipeline template".into()));
                }
                let e = PipelineTemplateEvent::PipelineTemplateCreated {
                    project_id,
                    name,
                    object_key,
                    sha256,
                    size,
                    created_at: services.now(),
                };
                sink.write(Stored(e), self).await;
                Ok(())
            }
        }
    }

    fn apply(&mut self, event: Self::Event) {
        match event.0 {
            PipelineTemplateEvent::PipelineTemplateCreated { .. } => self.created = true,
        }
    }
}
