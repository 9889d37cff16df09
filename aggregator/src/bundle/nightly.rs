//! The nightly bundle: at the configured time (China Standard Time) a bundle is built if
//! anything changed since the last one, and only the newest `keep` are kept. The schedule is
//! pure arithmetic on a given `now`, so it is tested without waiting for the night.

use jiff::civil::Time;
use jiff::{SignedDuration, Timestamp};
use yingjian_shared::{CHINA_STANDARD_TIME, china_time};

use super::Bundles;
use crate::config::{BundleSettings, ConfigError};
use crate::db::AuditEntry;
use crate::error::{AppError, AppResult};
use crate::services::Services;

/// The first moment at or after `now` whose time in China is `at`.
pub fn next_run(now: Timestamp, at: Time) -> Timestamp {
    let local = china_time(now);
    let today = local.date().to_datetime(at);
    let candidate = if today >= local { today } else { today + SignedDuration::from_hours(24) };
    CHINA_STANDARD_TIME.to_timestamp(candidate).unwrap_or(now)
}

/// Parses `"02:00"`.
pub fn parse_time(text: &str) -> Option<Time> {
    let (h, m) = text.trim().split_once(':')?;
    Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
}

/// The nightly job as configured.
#[derive(Debug, Clone, Copy)]
pub struct Nightly {
    at: Time,
    keep: usize,
}

impl Nightly {
    /// `None` when `[bundle] nightly = ""` turns it off.
    pub fn from_config(settings: &BundleSettings) -> AppResult<Option<Nightly>> {
        if settings.nightly.trim().is_empty() {
            return Ok(None);
        }
        let at = parse_time(&settings.nightly).ok_or_else(|| {
            ConfigError::Setting(format!(
                "[bundle] nightly = {:?}: write the time as \"HH:MM\"",
                settings.nightly
            ))
        })?;
        Ok(Some(Nightly { at, keep: settings.keep }))
    }

    /// Sleeps until the next run, builds, repeats; returns when the server stops.
    pub async fn run(self, state: Services, bundles: Bundles) {
        loop {
            let now = Timestamp::now();
            let wait = next_run(now, self.at).duration_since(now).unsigned_abs();
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = state.shutdown.cancelled() => return,
            }
            match run_once(&state, &bundles, self.keep).await {
                Ok(Some(name)) => tracing::info!(%name, "nightly bundle built"),
                Ok(None) => tracing::info!("nightly bundle: nothing changed since the last one"),
                // Audited and shown on the 打包 page by `Bundles::build`.
                Err(e) => tracing::error!(error = %e, "nightly bundle failed"),
            }
            // Never run twice in the same minute.
            tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_secs(61)) => {}
                () = state.shutdown.cancelled() => return,
            }
        }
    }
}

/// One night's work: build unless the current state is already bundled, then prune.
/// What came of it is audited (`nightly`): the 打包 page shows the last one, after a restart too.
pub async fn run_once(state: &Services, bundles: &Bundles, keep: usize) -> AppResult<Option<String>> {
    let outcome = async {
        let built = bundles.build(state, "nightly", super::Layout::Plain, |_, _| {}).await?;
        if !built.fresh {
            return Ok(None);
        }
        let shelf = bundles.clone();
        tokio::task::spawn_blocking(move || shelf.prune(keep.max(1))).await.map_err(AppError::internal)??;
        Ok(Some(built.name))
    }
    .await;
    let detail = match &outcome {
        Ok(Some(name)) => format!("已生成 {name}"),
        Ok(None) => "材料没有变化，未重新打包".into(),
        Err(e) => format!("失败：{}", super::shelf::failure_reason(e)),
    };
    let entry = AuditEntry::by_server("nightly", detail);
    if let Err(e) = state.db.log(entry).await {
        tracing::error!(error = %e, "cannot audit the nightly run");
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_next_run_is_tonight_or_tomorrow_night_in_beijing() {
        let two = parse_time("02:00").unwrap();
        // 2022-01-16 23:00 Beijing → 2022-01-17 02:00 Beijing.
        assert_eq!(next_run(ts("2022-01-16T15:00:00Z"), two), ts("2022-01-16T18:00:00Z"));
        // 01:59 Beijing → 02:00 the same night.
        assert_eq!(next_run(ts("2022-01-16T17:59:00Z"), two), ts("2022-01-16T18:00:00Z"));
        // Exactly 02:00 → now.
        assert_eq!(next_run(ts("2022-01-16T18:00:00Z"), two), ts("2022-01-16T18:00:00Z"));
        // 02:01 Beijing → the next night.
        assert_eq!(next_run(ts("2022-01-16T18:01:00Z"), two), ts("2022-01-17T18:00:00Z"));
        assert_eq!(parse_time("25:00"), None);
        assert_eq!(parse_time("soon"), None);
    }
}
