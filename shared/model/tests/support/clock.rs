//! A clock a test moves by hand, for use cases whose stamps and orderings follow the time.

use chrono::{DateTime, Duration, Utc};
use crm_model::ports::Clock;
use std::sync::Mutex;

/// Says the instant it was last set to.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn at(instant: &str) -> Self {
        Self(Mutex::new(super::at(instant)))
    }

    pub fn set(&self, instant: &str) {
        *self.0.lock().unwrap() = super::at(instant);
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}
