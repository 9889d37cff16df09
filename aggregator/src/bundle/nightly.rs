//! The nightly bundle: at the configured time (China Standard Time) a bundle is built if
//! anything changed since the last one, and only the newest `keep` are kept. The schedule is
//! pure arithmetic on a given `now`, so it is tested without waiting for the night.

use std::path::Path;

use jiff::civil::Time;
use jiff::{SignedDuration, Timestamp};
use yingjian_shared::{CHINA_STANDARD_TIME, china_time};

use super::list;
use crate::error::AppResult;
use crate::server::AppState;

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

/// Deletes all but the newest `keep` bundles in `dir`.
pub fn prune(dir: &Path, keep: usize) -> std::io::Result<Vec<String>> {
    let mut removed = Vec::new();
    for (name, _) in list(dir)?.into_iter().skip(keep) {
        std::fs::remove_file(dir.join(&name))?;
        removed.push(name);
    }
    Ok(removed)
}

/// One night's work: build unless the current state is already bundled, then prune.
pub async fn run_once(state: &AppState, dir: &Path, keep: usize) -> AppResult<Option<String>> {
    let name = super::name_for_current_state(state).await?;
    if dir.join(&name).exists() {
        return Ok(None);
    }
    let built = super::build(state, dir, |_, _| {}).await?;
    prune(dir, keep.max(1))?;
    Ok(Some(built.name))
}

/// Runs forever: sleeps until the next run, builds, repeats.
pub async fn schedule(state: AppState, at: Time, keep: usize) {
    let dir = state.config.data.join("bundles");
    loop {
        let now = Timestamp::now();
        let wait = next_run(now, at).duration_since(now);
        tokio::time::sleep(wait.unsigned_abs()).await;
        match run_once(&state, &dir, keep).await {
            Ok(Some(name)) => tracing::info!(%name, "nightly bundle built"),
            Ok(None) => tracing::info!("nightly bundle: nothing changed since the last one"),
            Err(e) => tracing::error!(error = %e, "nightly bundle failed"),
        }
        // Never run twice in the same minute.
        tokio::time::sleep(std::time::Duration::from_secs(61)).await;
    }
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

    #[test]
    fn prune_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        for day in 10..20 {
            std::fs::write(dir.path().join(format!("yingjian-2021-202201{day}-020000-abcdef01.zip")), b"x")
                .unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), b"kept").unwrap();
        let removed = prune(dir.path(), 7).unwrap();
        let names =
            ["yingjian-2021-20220112-020000-abcdef01.zip", "yingjian-2021-20220111-020000-abcdef01.zip"];
        assert_eq!(removed, [names[0], names[1], "yingjian-2021-20220110-020000-abcdef01.zip"]);
        assert_eq!(list(dir.path()).unwrap().len(), 7);
        assert!(dir.path().join("notes.txt").exists());
    }
}
