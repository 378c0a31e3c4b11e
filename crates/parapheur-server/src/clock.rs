//! The time zone dates are shown in (issue 21): `time_zone` in the configuration, Europe/Paris
//! by default, whatever the host's `TZ`. Set once at start-up (the first configuration of the
//! process wins); FAST history dates keep their format (ISO 8601, milliseconds, the offset of
//! that zone, as the real FAST renders them).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::sync::OnceLock;

static ZONE: OnceLock<Tz> = OnceLock::new();

/// The zone of a deployment that names none.
pub const DEFAULT_ZONE: Tz = chrono_tz::Europe::Paris;

/// Sets the zone (once: later calls keep the first).
pub fn set_zone(zone: Tz) {
    let _ = ZONE.set(zone);
}

/// The configured zone.
pub fn zone() -> Tz {
    ZONE.get().copied().unwrap_or(DEFAULT_ZONE)
}

/// Now, in the configured zone.
pub fn now() -> DateTime<Tz> {
    Utc::now().with_timezone(&zone())
}

/// The instant `ms` (Unix milliseconds) in the configured zone.
pub fn at_ms(ms: i64) -> DateTime<Tz> {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&zone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paris_is_one_hour_ahead_in_winter_and_two_in_summer() {
        // Unit tests set no zone: the default one is in force.
        assert_eq!(zone(), DEFAULT_ZONE);
        let winter = at_ms(1_796_569_610_000); // 2026-12-06
        let summer = at_ms(1_784_000_000_000); // 2026-07-14
        assert_eq!(winter.format("%:z").to_string(), "+01:00");
        assert_eq!(summer.format("%:z").to_string(), "+02:00");
    }
}
