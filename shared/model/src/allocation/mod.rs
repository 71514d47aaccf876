//! Allocation rules (Quy tắc phân bổ): who gets a record. Rules of a module applied to new
//! records are tried in priority order; the first whose condition holds and that has a user to
//! give assigns it, by round robin (over users or a team), weighted round robin or fewest open
//! records, skipping inactive users and those at their cap; a default owner takes the rest.
//! Turns are a counter per rule moved by a conditional write, so concurrent creations each take
//! the next turn; a hand-over action naming the rule takes turns from the same counter.

pub mod service;

use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::schema::Module;

/// How a rule chooses among its users.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Strategy {
    /// Each user in turn.
    #[default]
    RoundRobin,
    /// In turn, as many turns each as their weight (users not listed weigh 1).
    Weighted { weights: Vec<Weight> },
    /// The user with the fewest open records of the module (the first listed on a tie).
    FewestOpen,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weight {
    pub user: UserId,
    pub weight: u32,
}

/// The heaviest weight: a ratio of 1 to 100 between two users is already extreme.
pub const MAX_WEIGHT: u32 = 100;

/// A user a rule may give the record to, with what the strategy weighs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub user: UserId,
    pub weight: u32,
    /// Their open records of the module, when the rule needs to know (fewest open, or a cap).
    pub open: Option<u64>,
}

impl Strategy {
    /// Whether the strategy takes turns from the rule's counter.
    pub fn takes_turns(&self) -> bool {
        !matches!(self, Strategy::FewestOpen)
    }

    pub fn weight_of(&self, user: &UserId) -> u32 {
        match self {
            Strategy::Weighted { weights } => weights
                .iter()
                .find(|w| w.user == *user)
                .map_or(1, |w| w.weight),
            _ => 1,
        }
    }

    /// The user whose turn `turn` is (ignored by fewest open).
    pub fn pick<'c>(&self, candidates: &'c [Candidate], turn: u64) -> Option<&'c Candidate> {
        if candidates.is_empty() {
            return None;
        }
        match self {
            Strategy::RoundRobin => candidates.get((turn % candidates.len() as u64) as usize),
            Strategy::Weighted { .. } => {
                let weights: Vec<u32> = candidates.iter().map(|c| c.weight).collect();
                let sequence = smooth_weighted(&weights);
                let slot = sequence.get((turn % sequence.len().max(1) as u64) as usize)?;
                candidates.get(*slot)
            }
            Strategy::FewestOpen => candidates
                .iter()
                .enumerate()
                .min_by_key(|(i, c)| (c.open.unwrap_or(0), *i))
                .map(|(_, c)| c),
        }
    }
}

/// One cycle of smooth weighted round robin (the order nginx spreads weighted turns in): with
/// weights 3 and 1, `[0, 0, 1, 0]` rather than three turns in a row. Indexes into `weights`.
fn smooth_weighted(weights: &[u32]) -> Vec<usize> {
    let total: i64 = weights.iter().map(|w| i64::from(*w)).sum();
    let mut current = vec![0i64; weights.len()];
    let mut out = Vec::with_capacity(total as usize);
    for _ in 0..total {
        for (c, w) in current.iter_mut().zip(weights) {
            *c += i64::from(*w);
        }
        let Some((best, _)) = current
            .iter()
            .enumerate()
            .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
        else {
            break;
        };
        current[best] -= total;
        out.push(best);
    }
    out
}

/// Whether a record counts among its owner's open work: not yet won, lost, converted, done,
/// delivered or cancelled. Modules without a status are always open.
pub fn is_open(module: Module, status: Option<&str>) -> bool {
    if module.is_log() {
        // A message is never work to do.
        return false;
    }
    let closed: &[&str] = match module {
        Module::Lead => &["Qualified", "Lost"],
        Module::Opportunity => &["Won", "Lost"],
        Module::Order => &["Delivered", "Cancelled"],
        Module::Task | Module::CareCard => &["Done"],
        Module::Call => &["Ended", "Missed", "Failed"],
        Module::Meeting => &["Held", "Cancelled"],
        _ => &[],
    };
    !status.is_some_and(|s| closed.contains(&s))
}

/// The field whose value says whether a record of `module` is open.
pub fn status_field(module: Module) -> &'static str {
    match module {
        Module::Opportunity => "Stage",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(weights: &[u32]) -> Vec<Candidate> {
        weights
            .iter()
            .enumerate()
            .map(|(i, w)| Candidate {
                user: UserId::new(format!("u{i}")).unwrap(),
                weight: *w,
                open: Some(10 - i as u64),
            })
            .collect()
    }

    fn picks(strategy: &Strategy, weights: &[u32], turns: u64) -> Vec<String> {
        let all = candidates(weights);
        (0..turns)
            .map(|t| strategy.pick(&all, t).unwrap().user.to_string())
            .collect()
    }

    #[test]
    fn round_robin_gives_each_user_a_turn_in_order() {
        assert_eq!(
            picks(&Strategy::RoundRobin, &[1, 1, 1], 4),
            ["u0", "u1", "u2", "u0"]
        );
    }

    #[test]
    fn weighted_turns_are_spread_not_bunched() {
        let weighted = Strategy::Weighted { weights: vec![] };
        assert_eq!(
            picks(&weighted, &[3, 1], 8),
            ["u0", "u0", "u1", "u0", "u0", "u0", "u1", "u0"]
        );
        let share = picks(&weighted, &[5, 3, 2], 100);
        let count = |u: &str| share.iter().filter(|s| *s == u).count();
        assert_eq!((count("u0"), count("u1"), count("u2")), (50, 30, 20));
    }

    #[test]
    fn fewest_open_takes_the_least_loaded_and_the_first_on_a_tie() {
        let mut all = candidates(&[1, 1, 1]);
        assert_eq!(
            Strategy::FewestOpen.pick(&all, 0).unwrap().user.as_str(),
            "u2"
        );
        all[0].open = Some(8);
        all[2].open = Some(8);
        assert_eq!(
            Strategy::FewestOpen.pick(&all, 7).unwrap().user.as_str(),
            "u0"
        );
        assert!(Strategy::RoundRobin.pick(&[], 0).is_none());
    }

    #[test]
    fn closed_statuses_do_not_count_as_open_work() {
        assert!(is_open(Module::Lead, Some("New")));
        assert!(!is_open(Module::Lead, Some("Lost")));
        assert!(!is_open(Module::Opportunity, Some("Won")));
        assert!(is_open(Module::Customer, None));
    }
}
