//! The text and HTML of each mail. Every mail links to its resource at
//! `PHOBOS_UI_URL` and ends with `PHOBOS_EMAIL_FOOTER`.

/// A mail's subject and bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub link: String,
}

/// `subject`, then `lines` as paragraphs, the link, and the footer.
pub(crate) fn render(
    subject: String,
    lines: &[String],
    link: String,
    footer: Option<&str>,
) -> Rendered {
    let mut text = String::new();
    let mut html = String::from("<!DOCTYPE html><html><body style=\"font-family: sans-serif\">");
    for line in lines {
        text.push_str(line);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>", escape(line)));
    }
    text.push_str(&format!("Open it: {link}\n"));
    html.push_str(&format!(
        "<p><a href=\"{}\">Open it in Phobos</a></p>",
        escape(&link)
    ));
    if let Some(footer) = footer {
        text.push_str(&format!("\n-- \n{footer}\n"));
        html.push_str(&format!(
            "<hr><p style=\"color: #555; font-size: small\">{}</p>",
            escape(footer)
        ));
    }
    html.push_str("</body></html>");
    Rendered {
        subject,
        text,
        html,
        link,
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A resource's id in a link: its GraphQL global id, as the UI's routes
/// and `node(id:)` take it.
fn global(kind: &str, id: &str) -> String {
    match uuid::Uuid::parse_str(id) {
        Ok(uuid) => crate::graphql::ids::encode(kind, uuid),
        Err(_) => id.to_owned(),
    }
}

/// The UI's page of a pipeline (and one of its nodes).
pub(crate) fn pipeline_link(ui_url: &str, pipeline_id: &str, node: Option<&str>) -> String {
    let base = ui_url.trim_end_matches('/');
    let pipeline_id = global(phobos_core::events::aggregate::PIPELINE, pipeline_id);
    match node {
        Some(path) => format!("{base}/pipelines/{pipeline_id}?node={}", query(path)),
        None => format!("{base}/pipelines/{pipeline_id}"),
    }
}

/// The UI's page of a release.
pub(crate) fn release_link(ui_url: &str, release_id: &str) -> String {
    format!(
        "{}/releases/{}",
        ui_url.trim_end_matches('/'),
        global(phobos_core::events::aggregate::RELEASE, release_id)
    )
}

fn query(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_the_footer_ends_both_parts() {
        let r = render(
            "s".into(),
            &["a <b> & \"c\"".into()],
            pipeline_link("http://ui/", "p1", Some("stage.s.task.t 1")),
            Some("Sent by <Phobos>"),
        );
        assert_eq!(r.link, "http://ui/pipelines/p1?node=stage.s.task.t%201");
        let id = uuid::Uuid::new_v4();
        assert_eq!(
            pipeline_link("http://ui", &id.to_string(), None),
            format!(
                "http://ui/pipelines/{}",
                crate::graphql::ids::encode("Pipeline", id)
            )
        );
        assert!(r.html.contains("<p>a &lt;b&gt; &amp; &quot;c&quot;</p>"));
        assert!(r.text.contains("a <b> & \"c\""));
        assert!(r.text.trim_end().ends_with("Sent by <Phobos>"));
        assert!(r.html.contains("Sent by &lt;Phobos&gt;</p></body></html>"));
        assert!(r
            .html
            .contains("href=\"http://ui/pipelines/p1?node=stage.s.task.t%201\""));
    }
}
