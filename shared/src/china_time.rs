//! Deadlines, dates in the 目录 and times on the dashboard are China Standard Time, which has
//! had no daylight saving since 1991: a fixed UTC+8 is exact, and needs no time-zone database.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::Offset;

pub const CHINA_STANDARD_TIME: Offset = jiff::tz::offset(8);

/// The wall-clock time in China at `t`.
pub fn china_time(t: Timestamp) -> DateTime {
    CHINA_STANDARD_TIME.to_datetime(t)
}

/// `t` as a clerk reads it: `2022年1月17日 17:30`, China time.
pub fn chinese_date_time(t: Timestamp) -> String {
    let d = china_time(t);
    format!("{}年{}月{}日 {}:{:02}", d.year(), d.month(), d.day(), d.hour(), d.minute())
}

/// Time left until `at`, as a countdown card or the to-do file says it: `剩 3 天`, `剩 5 小时`,
/// `已截止`.
pub fn countdown(now: Timestamp, at: Timestamp) -> String {
    let left = at.duration_since(now);
    if left.is_negative() {
        return "已截止".into();
    }
    let hours = left.as_hours();
    if hours >= 24 { format!("剩 {} 天", hours / 24) } else { format!("剩 {hours} 小时") }
}

/// A file's size as people read it: `24 B`, `3 KB`, `10.0 MB`.
pub fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.0} KB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}
