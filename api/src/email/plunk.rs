//! `plunk`: Plunk's transactional API (`POST {endpoint}/v1/send` with the
//! API key as a bearer token). Plunk takes one body: the HTML part.

use serde_json::json;

use super::{EmailClient, EmailError, Mail};
use crate::http_client::HttpClient;

pub(super) struct Plunk {
    url: String,
    api_key: String,
    from: Option<String>,
    http: HttpClient,
}

impl Plunk {
    pub(super) fn new(
        endpoint: &str,
        api_key: &str,
        from: Option<String>,
    ) -> Result<Plunk, EmailError> {
        Ok(Plunk {
            url: format!("{endpoint}/v1/send"),
            api_key: api_key.to_owned(),
            from,
            http: HttpClient::new(std::time::Duration::from_secs(20)).map_err(|e| {
                EmailError(format!("cannot read the machine's root certificates: {e}"))
            })?,
        })
    }
}

#[async_trait::async_trait]
impl EmailClient for Plunk {
    async fn send(&self, mail: &Mail) -> Result<(), EmailError> {
        let mut body = json!({
            "to": mail.to,
            "subject": mail.subject,
            "body": mail.html,
            "subscribed": false,
            "headers": { "X-Phobos-Notification-Id": mail.key },
        });
        if let Some(from) = &self.from {
            body["from"] = json!(from);
        }
        let (status, text) = self
            .http
            .post_json(&self.url, &self.api_key, &body)
            .await
            .map_err(|e| EmailError(e.to_string()))?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            let text: String = text.chars().take(300).collect();
            Err(EmailError(format!(
                "Plunk answered {status} at {}: {text}",
                self.url
            )))
        }
    }
}
