//! The PIX manager: its database, matcher, identifier domains and ITI-10 notifier, and the
//! identity operations every transaction (HL7 v2, HTTP) goes through.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::config::Config;
use crate::matching::{Demographics, Matcher};
use crate::notify::Notifier;
use crate::storage::{Database, FeedOutcome, PatientKey, StorageError};

/// Everything a transaction needs, shared by all connections.
pub struct PixManager {
    pub db: Database,
    /// Shared with the storage writer, which matches on its own thread.
    pub matcher: Arc<Matcher>,
    /// Assigning authority (OID) of the affinity-domain ids.
    pub affinity_domain: String,
    /// Identifier domains accepted in feeds and queries (besides the affinity domain in queries).
    pub domains: BTreeSet<String>,
    pub max_candidates: i64,
    pub max_pdq_results: usize,
    /// MSH-3 / MSH-4 of the messages the manager sends.
    pub sending_application: String,
    pub sending_facility: String,
    /// ITI-10 subscribers' queue.
    pub notifier: Notifier,
}

impl PixManager {
    /// A manager over `db` configured by `config`, notifying through `notifier`.
    pub fn new(db: Database, matcher: Matcher, config: &Config, notifier: Notifier) -> Self {
        PixManager {
            db,
            matcher: Arc::new(matcher),
            affinity_domain: config.affinity_domain.clone(),
            domains: config.domains.iter().cloned().collect(),
            max_candidates: i64::from(config.max_candidates),
            max_pdq_results: usize::try_from(config.max_pdq_results).unwrap_or(usize::MAX),
            sending_application: config.sending_application.clone(),
            sending_facility: config.sending_facility.clone(),
            notifier,
        }
    }

    /// True when `domain` is a configured source domain.
    pub fn knows_domain(&self, domain: &str) -> bool {
        self.domains.contains(domain)
    }

    /// True when ITI-9 may name `domain` (a source domain or the affinity domain).
    pub fn answers_domain(&self, domain: &str) -> bool {
        domain == self.affinity_domain || self.knows_domain(domain)
    }

    /// ITI-8 register/update, then ITI-10 for the persons that changed.
    pub async fn feed(
        &self,
        key: &PatientKey,
        demographics: &Demographics,
    ) -> Result<FeedOutcome, StorageError> {
        let outcome = self
            .db
            .feed(key, demographics, &self.matcher, self.max_candidates)
            .await?;
        self.notify(&outcome, Some(demographics)).await;
        Ok(outcome)
    }

    /// ITI-8 A40 merge, then ITI-10.
    pub async fn merge(
        &self,
        surviving: &PatientKey,
        subsumed: &PatientKey,
        demographics: &Demographics,
    ) -> Result<FeedOutcome, StorageError> {
        let outcome = self.db.merge(surviving, subsumed, demographics).await?;
        self.notify(&outcome, Some(demographics)).await;
        Ok(outcome)
    }

    /// Manual link, then ITI-10.
    pub async fn link(
        &self,
        key: &PatientKey,
        target: &PatientKey,
    ) -> Result<FeedOutcome, StorageError> {
        let outcome = self.db.link(key, target, "manual link").await?;
        self.notify(&outcome, None).await;
        Ok(outcome)
    }

    /// Manual unlink, then ITI-10.
    pub async fn unlink(&self, key: &PatientKey) -> Result<FeedOutcome, StorageError> {
        let outcome = self.db.unlink(key, "manual unlink").await?;
        self.notify(&outcome, None).await;
        Ok(outcome)
    }

    /// Review accepted or rejected, then ITI-10 for an accepted one.
    pub async fn resolve_review(&self, id: i32, accept: bool) -> Result<(), StorageError> {
        if let Some(outcome) = self.db.resolve_review(id, accept).await? {
            self.notify(&outcome, None).await;
        }
        Ok(())
    }

    /// ITI-10 A31 for each person that changed, then an A40 for each pair made one (in that
    /// order on each subscriber's queue, so the surviving id is known before the merge).
    async fn notify(&self, outcome: &FeedOutcome, demographics: Option<&Demographics>) {
        for person in &outcome.changed {
            self.notifier
                .person_changed(self, person, demographics)
                .await;
        }
        for merge in &outcome.merged {
            self.notifier.persons_merged(self, merge).await;
        }
    }
}
