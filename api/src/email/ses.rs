//! `ses`: Amazon SES v2 `SendEmail`, credentials from the AWS default
//! chain (`AWS_ACCESS_KEY_ID`, a role, …; `AWS_ENDPOINT_URL` for a
//! compatible server).

use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};
use aws_sdk_sesv2::Client;

use super::{EmailClient, EmailError, Mail};

pub(super) struct Ses {
    client: Client,
    from: String,
    configuration_set: Option<String>,
}

impl Ses {
    pub(super) async fn new(from: &str, configuration_set: Option<String>, region: &str) -> Ses {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_sdk_sesv2::config::Region::new(region.to_owned()))
            .load()
            .await;
        Ses {
            client: Client::new(&shared),
            from: from.to_owned(),
            configuration_set,
        }
    }
}

fn content(text: &str) -> Result<Content, EmailError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| EmailError(format!("the mail cannot be built: {e}")))
}

#[async_trait::async_trait]
impl EmailClient for Ses {
    async fn send(&self, mail: &Mail) -> Result<(), EmailError> {
        let message = Message::builder()
            .subject(content(&mail.subject)?)
            .body(
                Body::builder()
                    .text(content(&mail.text)?)
                    .html(content(&mail.html)?)
                    .build(),
            )
            .build();
        let tag = MessageTag::builder()
            .name("phobos-notification")
            .value(&mail.key)
            .build()
            .map_err(|e| EmailError(format!("the mail cannot be built: {e}")))?;
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&mail.to).build())
            .content(EmailContent::builder().simple(message).build())
            .email_tags(tag)
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| EmailError(format!("SES refused the mail: {}", DisplayErrorContext(e))))
    }
}
