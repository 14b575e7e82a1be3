//! A per-layer filter asked on every span and event.
//!
//! `tracing-subscriber` carries each per-layer filter's decision from
//! `enabled` to `on_new_span` in a thread-local. A callsite whose interest
//! is cached as *always* skips `enabled`, so its span reads whatever an
//! unrelated `enabled` call left there: sqlx asks after every query
//! (tokio-rs/tracing#2519). The span then silently misses the layer: in
//! the logs it has no parent, and it is never exported, so the gRPC calls
//! served after a query began traces of their own. [`Fresh`] reports
//! *sometimes* instead of *always*, which makes every dispatch ask the
//! filter and so keeps the thread-local current.

use tracing::subscriber::Interest;
use tracing::{span, Event, Metadata};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Filter};

/// `F`, asked on every span and event rather than cached per callsite.
pub(crate) struct Fresh<F>(pub(crate) F);

impl<S, F: Filter<S>> Filter<S> for Fresh<F> {
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        self.0.enabled(meta, cx)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        let interest = self.0.callsite_enabled(meta);
        if interest.is_always() {
            Interest::sometimes()
        } else {
            interest
        }
    }

    fn event_enabled(&self, event: &Event<'_>, cx: &Context<'_, S>) -> bool {
        self.0.event_enabled(event, cx)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.0.max_level_hint()
    }

    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        self.0.on_new_span(attrs, id, ctx)
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        self.0.on_record(id, values, ctx)
    }

    fn on_enter(&self, id: &span::Id, ctx: Context<'_, S>) {
        self.0.on_enter(id, ctx)
    }

    fn on_exit(&self, id: &span::Id, ctx: Context<'_, S>) {
        self.0.on_exit(id, ctx)
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        self.0.on_close(id, ctx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::Subscriber;
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::registry::LookupSpan;
    use tracing_subscriber::Layer;

    use super::*;

    /// Records the names of the spans it sees.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<&'static str>>>);

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Seen {
        fn on_new_span(&self, attrs: &span::Attributes<'_>, _: &span::Id, _: Context<'_, S>) {
            self.0.lock().unwrap().push(attrs.metadata().name());
        }
    }

    /// The layer under test sees no `quiet` spans; another layer sees all.
    /// A stray `enabled` for a `quiet` span (as sqlx makes after each
    /// query), then a span every layer wants: does the first layer see it?
    fn sees_after_a_stray_enabled(fresh: bool, make: fn() -> tracing::Span) -> bool {
        let seen = Seen::default();
        let quiet = || {
            Targets::new()
                .with_target("quiet", LevelFilter::OFF)
                .with_default(LevelFilter::INFO)
        };
        let layer = if fresh {
            seen.clone().with_filter(Fresh(quiet())).boxed()
        } else {
            seen.clone().with_filter(quiet()).boxed()
        };
        let subscriber = tracing_subscriber::registry().with(layer).with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::sink)
                .with_filter(LevelFilter::INFO),
        );
        tracing::subscriber::with_default(subscriber, || {
            let stray = tracing::info_span!(target: "quiet", "stray");
            let meta = stray.metadata().expect("the second layer enables it");
            tracing::dispatcher::get_default(|d| d.enabled(meta));
            let _wanted = make();
        });
        let names = seen.0.lock().unwrap().clone();
        names.contains(&"wanted")
    }

    #[test]
    fn a_span_is_seen_after_a_stray_enabled_call() {
        // Without `Fresh` the span is lost (the upstream bug); when this
        // starts to hold, `Fresh` can go.
        assert!(!sees_after_a_stray_enabled(false, || tracing::info_span!(
            "wanted"
        )));
        assert!(sees_after_a_stray_enabled(true, || tracing::info_span!(
            "wanted"
        )));
    }
}
