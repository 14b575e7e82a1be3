//! `smtp`: lettre over tokio. Port 465 speaks TLS from the first byte, any
//! other port requires STARTTLS, unless `DISABLE_TLS` (a local relay or a
//! test sink).

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{EmailClient, EmailError, Mail};

pub(super) struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Smtp {
    pub(super) fn new(
        host: &str,
        port: u16,
        from: &str,
        username: Option<&str>,
        password: Option<&str>,
        disable_tls: bool,
    ) -> Result<Smtp, EmailError> {
        let from: Mailbox = from.parse().map_err(|e| {
            EmailError(format!(
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS {from:?} is not an email address: {e}"
            ))
        })?;
        let mut builder = if disable_tls {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        } else if port == 465 {
            AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| EmailError(format!("SMTP host {host:?}: {e}")))?
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| EmailError(format!("SMTP host {host:?}: {e}")))?
        }
        .port(port)
        .timeout(Some(std::time::Duration::from_secs(20)));
        if let Some(user) = username {
            builder = builder.credentials(Credentials::new(
                user.to_owned(),
                password.unwrap_or_default().to_owned(),
            ));
        }
        Ok(Smtp {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait::async_trait]
impl EmailClient for Smtp {
    async fn send(&self, mail: &Mail) -> Result<(), EmailError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| EmailError(format!("{:?} is not an email address: {e}", mail.to)))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .message_id(Some(format!("<{}@phobos>", mail.key)))
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| EmailError(format!("the mail cannot be built: {e}")))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| EmailError(format!("the SMTP server refused the mail: {e}")))
    }
}
