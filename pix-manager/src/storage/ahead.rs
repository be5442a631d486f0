//! Matching ahead of the SQLite writer. A new record's candidates are read and scored on a
//! reader connection before its feed is queued to the writer (on the other core); the writer
//! takes those assessments as its own when no blocking key of the record was written since the
//! group commit the reader saw, and reads and scores the candidates itself otherwise.
//!
//! Why that is exact: a feed's candidates are the active records holding one of its blocking
//! keys, and what the matcher reads of them (domain, local id, demographics). Every write that
//! could change either writes blocking keys: a record stored or updated (its keys are set
//! anew: the old ones deleted, the new ones inserted), renamed or merged (its keys set anew or
//! deleted). [`WrittenKeys`] holds each key written with the group that wrote it, so a
//! candidate set read at group `n` is what the writer would read as long as none of the feed's
//! keys was written by a later group. The persons of the candidates, and every rule that reads
//! them (same-domain, bridging), are still read by the writer.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::ops::{IdHasher, ReadCandidate};
use crate::matching::Assessment;

/// Groups, or keys noted, after which the older half of [`WrittenKeys`] is dropped: it holds
/// the keys of the last 4,096 to 8,192 groups, fewer when groups are large (memory stays
/// under two generations of keys); an assessment read before those is matched again by the
/// writer.
const GROUPS_PER_GENERATION: u64 = 4096;
const KEYS_PER_GENERATION: usize = 1 << 18;

/// A new record's candidates, assessed on a reader connection that saw every group up to
/// `as_of`: (candidate record id, assessment) in the order the writer reads them, and the
/// candidate records the reader read itself (not in the writer's cache).
pub struct MatchedAhead {
    pub as_of: u64,
    pub decided: Vec<(i32, Assessment)>,
    pub read: Vec<ReadCandidate>,
}

/// The last group of writes whose commit has ended, shared by the writer (which stores it)
/// and the readers (which read it before they read candidates).
#[derive(Clone, Default)]
pub struct CommittedGroup(Arc<AtomicU64>);

impl CommittedGroup {
    /// The last group a read that starts now sees whole.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self, group: u64) {
        self.0.store(group, Ordering::Release);
    }
}

type ByHash = HashMap<u64, u64, BuildHasherDefault<IdHasher>>;

/// Blocking keys written by the SQLite writer's recent groups (the group each was last written
/// by), by a 64-bit hash of the key: two keys with one hash make the writer match again, never
/// take a stale assessment.
#[derive(Default)]
pub struct WrittenKeys {
    committed: CommittedGroup,
    /// The group being applied (numbered from 1).
    group: u64,
    /// The generation written now and the one before it, with the first group of each: the
    /// keys of every group from `previous_from` on are held.
    current: ByHash,
    current_from: u64,
    previous: ByHash,
    previous_from: u64,
    hasher: std::hash::RandomState,
}

impl WrittenKeys {
    /// The committed-group counter readers read.
    pub fn committed(&self) -> CommittedGroup {
        self.committed.clone()
    }

    /// Starts the next group of writes.
    pub fn begin_group(&mut self) {
        self.group += 1;
        if self.group - self.current_from >= GROUPS_PER_GENERATION
            || self.current.len() >= KEYS_PER_GENERATION
        {
            self.previous = std::mem::take(&mut self.current);
            self.previous_from = self.current_from;
            self.current_from = self.group;
        }
    }

    /// Tells readers the group's commit has ended (stored or rolled back: either way a read
    /// that starts now sees what it left).
    pub fn end_group(&self) {
        self.committed.set(self.group);
    }

    /// Notes that the current group wrote (inserted or deleted) `key`.
    pub fn wrote(&mut self, key: &str) {
        let hash = self.hasher.hash_one(key);
        self.current.insert(hash, self.group);
    }

    /// Whether no key of `keys` was written after group `as_of` (by a later group, or by the
    /// current one so far): then candidates read at `as_of` are the writer's.
    pub fn unchanged_since(&self, as_of: u64, keys: &[String]) -> bool {
        if as_of + 1 < self.previous_from {
            return false;
        }
        keys.iter().all(|key| {
            let hash = self.hasher.hash_one(key.as_str());
            let last = [&self.current, &self.previous]
                .iter()
                .filter_map(|generation| generation.get(&hash))
                .max();
            last.is_none_or(|group| *group <= as_of)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|k| (*k).to_owned()).collect()
    }

    /// A log after one empty group, and a read that saw that group.
    fn read_after_one_group() -> (WrittenKeys, u64) {
        let mut written = WrittenKeys::default();
        written.begin_group();
        written.end_group();
        let as_of = written.committed().get();
        (written, as_of)
    }

    /// Applies `count` empty groups.
    fn empty_groups(written: &mut WrittenKeys, count: u64) {
        for _ in 0..count {
            written.begin_group();
            written.end_group();
        }
    }

    #[test]
    fn a_key_written_after_the_read_makes_the_assessment_stale() {
        let mut written = WrittenKeys::default();
        written.begin_group();
        written.wrote("gs:S530J500");
        written.end_group();
        let as_of = written.committed().get();
        assert!(written.unchanged_since(as_of, &keys(&["gs:S530J500"])));
        written.begin_group();
        written.wrote("dob:19700101");
        assert!(
            !written.unchanged_since(as_of, &keys(&["gs:S530J500", "dob:19700101"])),
            "written by the group being applied"
        );
        written.end_group();
        assert!(!written.unchanged_since(as_of, &keys(&["dob:19700101"])));
        assert!(written.unchanged_since(as_of, &keys(&["gs:S530J500", "pc:2600"])));
    }

    #[test]
    fn a_read_older_than_the_keys_held_is_stale() {
        let (mut written, as_of) = read_after_one_group();
        empty_groups(&mut written, 2 * GROUPS_PER_GENERATION);
        assert!(
            !written.unchanged_since(as_of, &keys(&["gs:S530J500"])),
            "the groups just after the read are no longer held"
        );
        let recent = written.committed().get();
        assert!(written.unchanged_since(recent, &keys(&["gs:S530J500"])));
    }

    #[test]
    fn large_groups_start_a_new_generation_before_its_group_count() {
        let (mut written, as_of) = read_after_one_group();
        for n in 0..=2 * KEYS_PER_GENERATION {
            if n % 256 == 0 {
                written.end_group();
                written.begin_group();
            }
            written.wrote(&format!("pc:{n}"));
        }
        assert!(written.current.len() + written.previous.len() <= 2 * KEYS_PER_GENERATION);
        assert!(
            !written.unchanged_since(as_of, &keys(&["gs:S530J500"])),
            "the first groups after the read are no longer held"
        );
    }

    #[test]
    fn keys_survive_one_generation_change() {
        let (mut written, as_of) = read_after_one_group();
        written.begin_group();
        written.wrote("dob:19700101");
        written.end_group();
        empty_groups(&mut written, GROUPS_PER_GENERATION);
        assert!(!written.unchanged_since(as_of, &keys(&["dob:19700101"])));
    }
}
