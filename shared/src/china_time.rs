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
