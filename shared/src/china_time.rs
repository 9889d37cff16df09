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
