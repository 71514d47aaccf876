//! Dry run of a scoring rule, draft or active: what it would score the module's records, as a
//! distribution, with how often each criterion matches and how many stored scores would change.
//! Nothing is written.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::rescore::ScoringRule;
use crate::clock::Clock;
use crate::condition::EvalContext;
use crate::ids::{RecordId, TenantId, WorkflowId};
use crate::record::store::{RecordFilter, RecordStore};
use crate::schedule::fire_zone;
use crate::settings::store::SettingsStore;
use crate::store::{PageRequest, StoreError};
use crate::workflow::preview::{PREVIEW_RECORD_LIMIT, PREVIEW_SECONDS};
use crate::workflow::store::WorkflowStore;

/// The most buckets a distribution is cut into.
pub const MAX_BUCKETS: u32 = 20;
/// Scored records listed as examples.
const EXAMPLES: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Inclusive bounds.
    pub from: i64,
    pub to: i64,
    pub records: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CriterionMatches {
    pub name: String,
    pub records: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScoredExample {
    pub record: RecordId,
    pub score: i64,
    pub criteria: Vec<super::CriterionPoints>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScorePreview {
    pub at: DateTime<Utc>,
    pub records_examined: usize,
    /// More records exist than a dry run examines.
    pub truncated: bool,
    /// Records inside the rule's condition, which get a score.
    pub scored: usize,
    pub lowest: Option<i64>,
    pub highest: Option<i64>,
    pub average: Option<f64>,
    pub distribution: Vec<Bucket>,
    pub criteria: Vec<CriterionMatches>,
    /// Records whose stored score or breakdown would change if the rule ran now.
    pub would_change: usize,
    pub examples: Vec<ScoredExample>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScorePreviewError {
    #[error("no such workflow")]
    NotFound,
    #[error("this is not a scoring rule")]
    NotScoring,
    #[error("the scoring rule no longer fits the module's fields")]
    NoLongerFits,
    #[error("storage failed")]
    Store(#[from] StoreError),
}

pub struct ScorePreviews<'a> {
    pub workflows: &'a dyn WorkflowStore,
    pub records: &'a dyn RecordStore,
    pub settings: &'a dyn SettingsStore,
    pub clock: &'a dyn Clock,
}

impl ScorePreviews<'_> {
    pub async fn preview(
        &self,
        tenant: &TenantId,
        id: &WorkflowId,
        buckets: u32,
    ) -> Result<ScorePreview, ScorePreviewError> {
        let head = self
            .workflows
            .get(tenant, id)
            .await?
            .ok_or(ScorePreviewError::NotFound)?
            .value;
        if head.kind != crate::workflow::WorkflowKind::Scoring {
            return Err(ScorePreviewError::NotScoring);
        }
        let settings = self.settings.tenant_settings(tenant).await?.value;
        let schema = settings.schema();
        let rule = ScoringRule::of(&head, &schema).ok_or(ScorePreviewError::NoLongerFits)?;
        let names: Vec<String> = match &head.definition.trigger {
            crate::trigger::Trigger::Score(spec) => spec
                .criteria
                .iter()
                .map(|c| c.name.trim().to_owned())
                .collect(),
            _ => Vec::new(),
        };
        let at = self.clock.now();
        let mut scores = Vec::new();
        let mut matches = vec![0usize; names.len()];
        let mut examples = Vec::new();
        let (mut examined, mut truncated, mut would_change) = (0, false, 0);
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        'pages: loop {
            let listed = self
                .records
                .list(
                    tenant,
                    head.definition.module,
                    &RecordFilter::default(),
                    &page,
                )
                .await?;
            for stored in listed.items {
                if examined == PREVIEW_RECORD_LIMIT {
                    truncated = true;
                    break 'pages;
                }
                examined += 1;
                let record = stored.value.typed(&schema);
                let ctx = EvalContext {
                    now: at,
                    tz: fire_zone(&record, &settings),
                    previous: None,
                };
                if rule.rescored(&stored.value.fields, &record, &ctx).is_some() {
                    would_change += 1;
                }
                if !rule.scope.matches(&record, &ctx) {
                    continue;
                }
                let scored = rule.scoring.score(&record, &ctx);
                for matched in &scored.criteria {
                    if let Some(i) = names.iter().position(|n| *n == matched.name) {
                        matches[i] += 1;
                    }
                }
                scores.push(scored.score);
                if examples.len() < EXAMPLES {
                    examples.push(ScoredExample {
                        record: record.id.clone(),
                        score: scored.score,
                        criteria: scored.criteria,
                    });
                }
            }
            if self.clock.now() - at > Duration::seconds(PREVIEW_SECONDS) {
                truncated |= listed.next.is_some();
                break;
            }
            match listed.next {
                Some(next) => page.cursor = Some(next),
                None => break,
            }
        }
        let (lowest, highest) = (scores.iter().min().copied(), scores.iter().max().copied());
        let average = (!scores.is_empty())
            .then(|| scores.iter().map(|s| *s as f64).sum::<f64>() / scores.len() as f64);
        Ok(ScorePreview {
            at,
            records_examined: examined,
            truncated,
            scored: scores.len(),
            lowest,
            highest,
            average,
            distribution: distribution(&scores, buckets.clamp(1, MAX_BUCKETS)),
            criteria: names
                .into_iter()
                .zip(matches)
                .map(|(name, records)| CriterionMatches { name, records })
                .collect(),
            would_change,
            examples,
        })
    }
}

/// `scores` counted in `buckets` equal ranges from the lowest to the highest.
fn distribution(scores: &[i64], buckets: u32) -> Vec<Bucket> {
    let (Some(&low), Some(&high)) = (scores.iter().min(), scores.iter().max()) else {
        return Vec::new();
    };
    let span = (high - low + 1) as u64;
    let width = span.div_ceil(u64::from(buckets)).max(1) as i64;
    let count = span.div_ceil(width as u64) as usize;
    let mut out: Vec<Bucket> = (0..count as i64)
        .map(|i| Bucket {
            from: low + i * width,
            to: (low + (i + 1) * width - 1).min(high),
            records: 0,
        })
        .collect();
    for score in scores {
        let i = ((score - low) / width) as usize;
        out[i.min(count - 1)].records += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_fall_in_equal_ranges_from_lowest_to_highest() {
        let buckets = distribution(&[0, 5, 10, 50, 99, 100], 4);
        let shape: Vec<(i64, i64, usize)> =
            buckets.iter().map(|b| (b.from, b.to, b.records)).collect();
        assert_eq!(shape, [(0, 25, 3), (26, 51, 1), (52, 77, 0), (78, 100, 2)]);
        assert_eq!(
            distribution(&[7, 7], 10),
            [Bucket {
                from: 7,
                to: 7,
                records: 2
            }]
        );
        assert!(distribution(&[], 10).is_empty());
    }
}
