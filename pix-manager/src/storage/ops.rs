//! Storage operations, written once in `backend_ops!` and compiled for each backend
//! (`ops::sqlite`, `ops::postgres`); [`super::Database`] dispatches to them.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use diesel::expression::{AppearsOnTable, Expression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sqlite::Sqlite;

use super::ahead::WrittenKeys;
use crate::matching::{Demographics, Prepared, Zone, blocking_keys};
use crate::storage::error::StorageError;
use crate::storage::model::PatientKey;
use crate::storage::schema::records;

/// Hashes a record id for [`PreparedCache`]: the id multiplied by 2^64 / φ (Fibonacci hashing),
/// which spreads consecutive ids over the high bits the hash table probes by; SipHash, the
/// default, spent 1.6% of the writer's time on the 200 look-ups per message. Ids are not chosen
/// by senders (the database numbers records), so no flooding resistance is needed.
#[derive(Default)]
pub(super) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_i32(&mut self, id: i32) {
        self.0 = u64::from(id as u32).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The most records a [`PreparedCache`] holds (about 0.5 KB each); past it, it starts over.
const PREPARED_CACHE_CAPACITY: usize = 2_000_000;

/// A candidate record as the matcher reads it: its domain, local id and demographics
/// normalised once.
pub struct CandidateRecord {
    domain: String,
    local_id: String,
    prepared: Prepared,
}

/// A candidate record and its id, as read (shared by the cache and the matching of a feed).
pub type ReadCandidate = (i32, Arc<CandidateRecord>);

/// Candidate records by id, kept for the SQLite writer (the only writer of its database) so a
/// record compared with many later ones is read and normalised once, not once per comparison;
/// shared with the reader connections that match feeds ahead of the writer (they look records
/// up, and read the others themselves).
///
/// Only the writer changes it, so it holds the records as the writer's transaction sees them:
/// an operation that changes a record's key or demographics [`forget`](Self::forget)s it, a
/// write rolled back [`clear`](Self::clear)s it all (its rows, and the ids it took, are gone),
/// and the writer [`keep`](Self::keep)s the records it read itself or a reader read for a feed
/// it took as matched ahead (no key of that feed written since, so none of those records
/// changed). A reader sees records newer than its read only where a key was written since,
/// which sends its feed back to the writer. PostgreSQL, written by many connections, uses a new
/// empty one per operation.
#[derive(Default, Clone)]
pub struct PreparedCache {
    records: Arc<Mutex<RecordsById>>,
}

type RecordsById = HashMap<i32, Arc<CandidateRecord>, BuildHasherDefault<IdHasher>>;

impl PreparedCache {
    fn held(&self) -> MutexGuard<'_, RecordsById> {
        // a panic while held left a map with no half-done change in it
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets the record `id` (its key or demographics changed).
    pub fn forget(&self, id: i32) {
        self.held().remove(&id);
    }

    /// Forgets every record.
    pub fn clear(&self) {
        self.held().clear();
    }

    /// Keeps `read` (records as the writer's transaction sees them); starts over past
    /// [`PREPARED_CACHE_CAPACITY`].
    pub fn keep(&self, read: &[ReadCandidate]) {
        let mut held = self.held();
        if held.len() + read.len() > PREPARED_CACHE_CAPACITY {
            held.clear();
        }
        for (id, record) in read {
            held.insert(*id, Arc::clone(record));
        }
    }

    /// The records of `ids` held, in the order of `ids`, and the ids not held.
    fn look_up(&self, ids: &[i32]) -> (Vec<ReadCandidate>, Vec<i32>) {
        let held = self.held();
        let mut found = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match held.get(id) {
                Some(record) => found.push((*id, Arc::clone(record))),
                None => missing.push(*id),
            }
        }
        (found, missing)
    }
}

/// What the SQLite writer keeps from one write to the next: the candidate records it has
/// prepared, and the blocking keys recent groups wrote (which tell whether a feed's candidates
/// assessed ahead on a reader connection are still the writer's, see [`super::ahead`]).
/// PostgreSQL uses a new empty one per operation.
#[derive(Default)]
pub struct WriterMemory {
    pub prepared: PreparedCache,
    pub written_keys: WrittenKeys,
}

/// An ITI-8 feed with what is computed from it alone, before it is queued to the SQLite writer
/// (on the connection's task, so not on the writer's thread): its demographics as stored
/// (JSON), its blocking keys and its normalised demographics.
pub struct FeedInput {
    key: PatientKey,
    json: String,
    keys: Vec<String>,
    mine: Prepared,
}

impl FeedInput {
    pub fn new(key: &PatientKey, demographics: &Demographics) -> Result<Self, StorageError> {
        Ok(FeedInput {
            key: key.clone(),
            json: serde_json::to_string(demographics).map_err(|source| StorageError::Json {
                record_id: 0,
                source,
            })?,
            keys: blocking_keys(demographics),
            mine: Prepared::new(demographics),
        })
    }
}

/// SQLite: `column IN (SELECT value FROM json_each(?))`, the values bound as one JSON array.
/// Diesel's `eq_any` writes `IN (?, ?, ...)`, one placeholder per value, and never reuses such
/// a statement: the writer parsed and planned its `IN` lists anew for each message. This one
/// statement text serves any number of values, so SQLite's prepared statement is reused. The
/// values come out of `json_each` in array order and SQLite's `IN` reads them through a
/// sorted ephemeral index either way, so the rows are read in the same order.
#[derive(Debug, Clone)]
pub struct InJsonArray<C> {
    column: C,
    values: String,
}

impl<C> InJsonArray<C> {
    fn new<T: serde::Serialize>(column: C, values: &[T]) -> Result<Self, StorageError> {
        Ok(InJsonArray {
            column,
            values: serde_json::to_string(values).map_err(|source| StorageError::Json {
                record_id: 0,
                source,
            })?,
        })
    }
}

impl<C: Expression> Expression for InJsonArray<C> {
    type SqlType = diesel::sql_types::Bool;
}

impl<C: AppearsOnTable<QS>, QS> AppearsOnTable<QS> for InJsonArray<C> {}

impl<C: ValidGrouping<()>> ValidGrouping<()> for InJsonArray<C> {
    type IsAggregate = C::IsAggregate;
}

impl<C: QueryFragment<Sqlite>> QueryFragment<Sqlite> for InJsonArray<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> diesel::QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<diesel::sql_types::Text, _>(&self.values)?;
        out.push_sql("))");
        Ok(())
    }
}

impl<C: QueryId> QueryId for InJsonArray<C> {
    type QueryId = InJsonArray<C::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = C::HAS_STATIC_QUERY_ID;
}

/// `query LIMIT n` with `n` written into the statement, not bound. SQLite (3.50) reads a bound
/// `LIMIT ?` while planning and marks the statement to be planned again whenever it is bound
/// anew: diesel's `.limit(n)` made the candidate query be parsed and planned again inside every
/// `sqlite3_step` (4.7% of the writer's time at 100,000 records). The statement text holds the
/// limit, so it is cached by its text (no static query id: two limits, two statements).
#[derive(Debug, Clone)]
pub struct LiteralLimit<Q> {
    query: Q,
    limit: i64,
}

impl<Q> LiteralLimit<Q> {
    pub fn new(query: Q, limit: i64) -> Self {
        LiteralLimit { query, limit }
    }
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for LiteralLimit<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, DB> QueryFragment<DB> for LiteralLimit<Q>
where
    Q: QueryFragment<DB>,
    DB: diesel::backend::Backend,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> diesel::QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(&format!(" LIMIT {}", self.limit));
        Ok(())
    }
}

impl<Q> QueryId for LiteralLimit<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// The `IN` lists of the writer's hot path, per backend: SQLite's reusable [`InJsonArray`];
/// PostgreSQL's `eq_any` (`= ANY($1)`, one array parameter: already one statement).
pub mod in_list {
    pub mod sqlite {
        use crate::storage::error::StorageError;
        use crate::storage::ops::InJsonArray;

        pub fn of<C, T: serde::Serialize>(
            column: C,
            values: &[T],
        ) -> Result<InJsonArray<C>, StorageError> {
            InJsonArray::new(column, values)
        }
    }

    pub mod postgres {
        use diesel::dsl::EqAny;
        use diesel::expression::AsExpression;
        use diesel::expression_methods::ExpressionMethods;
        use diesel::sql_types::SqlType;

        use crate::storage::error::StorageError;

        pub fn of<C, T>(column: C, values: &[T]) -> Result<EqAny<C, Vec<T>>, StorageError>
        where
            C: ExpressionMethods,
            C::SqlType: SqlType,
            T: Clone + AsExpression<C::SqlType>,
        {
            Ok(column.eq_any(values.to_vec()))
        }
    }
}

/// Seconds since the Unix epoch (0 if the clock is before 1970).
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The zone as stored in `decisions.zone`.
fn zone_name(zone: Zone) -> &'static str {
    match zone {
        Zone::AutoLink => "AutoLink",
        Zone::Review => "Review",
        Zone::NoLink => "NoLink",
    }
}

/// A stored zone name read back (anything unknown reads as NoLink).
fn zone_from(name: &str) -> Zone {
    match name {
        "AutoLink" => Zone::AutoLink,
        "Review" => Zone::Review,
        _ => Zone::NoLink,
    }
}

/// The decisions of a new record that are stored, each with the number of NoLink decisions it
/// stands for: every AutoLink and Review decision (each may be acted on or reviewed) with 0,
/// and of the NoLink ones only the highest-scoring, with the number of the others. Those all
/// scored no higher, so below the lower threshold too: the "no link" outcome is explained whole
/// (which pair came closest, by which field weights) without a row per candidate compared.
///
/// `decided` holds the (zone, score) of each decision; the answer, the index in it of each
/// decision stored with the number of NoLink decisions it stands for.
fn decisions_to_store(decided: &[(Zone, f64)]) -> Vec<(usize, i64)> {
    let mut stored: Vec<(usize, i64)> = decided
        .iter()
        .enumerate()
        .filter(|(_, (zone, _))| *zone != Zone::NoLink)
        .map(|(index, _)| (index, 0))
        .collect();
    let no_links = decided
        .iter()
        .enumerate()
        .filter(|(_, (zone, _))| *zone == Zone::NoLink);
    let others = i64::try_from(no_links.clone().count().saturating_sub(1)).unwrap_or(i64::MAX);
    if let Some((closest, _)) = no_links.max_by(|a, b| a.1.1.total_cmp(&b.1.1)) {
        stored.push((closest, others));
    }
    stored
}

/// Review-queue statuses.
/// What matching reads of a stored record: id, source domain, local id, demographics (JSON).
const RECORD_COLUMNS: (
    records::id,
    records::domain,
    records::local_id,
    records::demographics,
) = (
    records::id,
    records::domain,
    records::local_id,
    records::demographics,
);

/// No record: record ids start at 1.
const NO_RECORD: i32 = 0;

const PENDING: &str = "pending";
const ACCEPTED: &str = "accepted";
const REJECTED: &str = "rejected";

macro_rules! backend_ops {
    ($module:ident, $conn:ty, $in_list:path) => {
        pub mod $module {
            use std::collections::{BTreeMap, BTreeSet};
            use std::sync::Arc;

            use diesel::prelude::*;
            use diesel_async::{AsyncConnection, RunQueryDsl};

            use super::{
                ACCEPTED, CandidateRecord, FeedInput, LiteralLimit, PENDING, PreparedCache,
                RECORD_COLUMNS, REJECTED, ReadCandidate, WriterMemory, decisions_to_store, now,
                zone_from, zone_name,
            };
            use crate::matching::{
                Assessment, Decision, Demographics, FieldScore, Matcher, Prepared, Zone,
                blocking_keys,
            };
            use crate::storage::ahead::{MatchedAhead, WrittenKeys};
            use crate::storage::error::StorageError;
            use crate::storage::model::{
                FeedOutcome, HistoryEntry, KeysHeld, PatientKey, PersonIdentity, PersonsMerged,
                ReviewItem, StoredDecision, StoredRecord,
            };
            use crate::storage::schema::{
                blocking_keys as keys_t, decisions, link_history, links, persons, records,
                review_queue,
            };
            use $in_list as in_list;

            type Conn = $conn;

            /// A stored decision with its candidate's key: (id, domain, local id, score, zone,
            /// fields JSON, guard, other NoLink decisions it stands for).
            type DecisionRow = (
                i32,
                String,
                String,
                f64,
                String,
                String,
                Option<String>,
                i64,
            );

            fn to_json<T: serde::Serialize>(
                record_id: i32,
                value: &T,
            ) -> Result<String, StorageError> {
                serde_json::to_string(value)
                    .map_err(|source| StorageError::Json { record_id, source })
            }

            fn demographics_of(record_id: i32, json: &str) -> Result<Demographics, StorageError> {
                serde_json::from_str(json)
                    .map_err(|source| StorageError::Json { record_id, source })
            }

            /// (id, merged_into) of the record with this key, merged or not.
            async fn record_row(
                conn: &mut Conn,
                key: &PatientKey,
            ) -> Result<Option<(i32, Option<i32>)>, StorageError> {
                Ok(records::table
                    .filter(records::domain.eq(&key.domain))
                    .filter(records::local_id.eq(&key.local_id))
                    .select((records::id, records::merged_into))
                    .first(conn)
                    .await
                    .optional()?)
            }

            /// The error for a key that names no active record.
            async fn missing_record(conn: &mut Conn, key: &PatientKey) -> StorageError {
                match record_row(conn, key).await {
                    Ok(Some((_, Some(_)))) => StorageError::MergedRecord {
                        domain: key.domain.clone(),
                        local_id: key.local_id.clone(),
                    },
                    Ok(_) => StorageError::UnknownRecord {
                        domain: key.domain.clone(),
                        local_id: key.local_id.clone(),
                    },
                    Err(error) => error,
                }
            }

            /// Touches the active record with this key (a write first, so SQLite takes its write
            /// lock before anything is read) and returns its id.
            async fn touch_active(conn: &mut Conn, key: &PatientKey) -> Result<i32, StorageError> {
                let id: Option<i32> = diesel::update(
                    records::table
                        .filter(records::domain.eq(&key.domain))
                        .filter(records::local_id.eq(&key.local_id))
                        .filter(records::merged_into.is_null()),
                )
                .set(records::updated_at.eq(now()))
                .returning(records::id)
                .get_result(conn)
                .await
                .optional()?;
                match id {
                    Some(id) => Ok(id),
                    None => Err(missing_record(conn, key).await),
                }
            }

            async fn person_of(conn: &mut Conn, record: i32) -> Result<i32, StorageError> {
                Ok(links::table
                    .find(record)
                    .select(links::person_id)
                    .first(conn)
                    .await?)
            }

            /// The person `record` is linked to, if any.
            async fn linked_person(
                conn: &mut Conn,
                record: i32,
            ) -> Result<Option<i32>, StorageError> {
                Ok(links::table
                    .find(record)
                    .select(links::person_id)
                    .first(conn)
                    .await
                    .optional()?)
            }

            async fn identity(
                conn: &mut Conn,
                person: i32,
            ) -> Result<PersonIdentity, StorageError> {
                // by primary key, so without `LIMIT 1` (see `LiteralLimit`)
                let affinity_id: String = persons::table
                    .find(person)
                    .select(persons::affinity_id)
                    .get_result(conn)
                    .await?;
                let rows: Vec<(String, String)> = links::table
                    .inner_join(records::table)
                    .filter(links::person_id.eq(person))
                    .select((records::domain, records::local_id))
                    .order((records::domain, records::local_id))
                    .load(conn)
                    .await?;
                Ok(PersonIdentity {
                    affinity_id,
                    records: rows
                        .into_iter()
                        .map(|(domain, local_id)| PatientKey { domain, local_id })
                        .collect(),
                })
            }

            /// A new person with a new affinity-domain id: (id, affinity-domain id).
            async fn new_person(conn: &mut Conn) -> Result<(i32, String), StorageError> {
                let affinity_id = uuid::Uuid::new_v4().simple().to_string();
                let id = diesel::insert_into(persons::table)
                    .values((
                        persons::affinity_id.eq(&affinity_id),
                        persons::created_at.eq(now()),
                    ))
                    .returning(persons::id)
                    .get_result(conn)
                    .await?;
                Ok((id, affinity_id))
            }

            async fn record_history(
                conn: &mut Conn,
                record: i32,
                action: &str,
                from: Option<i32>,
                to: Option<i32>,
                reason: &str,
            ) -> Result<(), StorageError> {
                diesel::insert_into(link_history::table)
                    .values((
                        link_history::record_id.eq(record),
                        link_history::action.eq(action),
                        link_history::from_person.eq(from),
                        link_history::to_person.eq(to),
                        link_history::reason.eq(reason),
                        link_history::at.eq(now()),
                    ))
                    .execute(conn)
                    .await?;
                Ok(())
            }

            /// Links `record`, which has no link, to `to`, with a history entry (what
            /// [`move_record`] does for it, without looking for the link it has not).
            async fn link_unlinked(
                conn: &mut Conn,
                record: i32,
                to: i32,
                action: &str,
                reason: &str,
            ) -> Result<(), StorageError> {
                diesel::insert_into(links::table)
                    .values((links::record_id.eq(record), links::person_id.eq(to)))
                    .execute(conn)
                    .await?;
                record_history(conn, record, action, None, Some(to), reason).await
            }

            /// Links `record` to `to` (replacing its link), with a history entry; returns the
            /// person it left.
            async fn move_record(
                conn: &mut Conn,
                record: i32,
                to: i32,
                action: &str,
                reason: &str,
            ) -> Result<Option<i32>, StorageError> {
                let from = linked_person(conn, record).await?;
                diesel::insert_into(links::table)
                    .values((links::record_id.eq(record), links::person_id.eq(to)))
                    .on_conflict(links::record_id)
                    .do_update()
                    .set(links::person_id.eq(to))
                    .execute(conn)
                    .await?;
                record_history(conn, record, action, from, Some(to), reason).await?;
                Ok(from)
            }

            /// Replaces the blocking keys of `record` by `keys`, noting both in `written`.
            async fn set_blocking_keys(
                conn: &mut Conn,
                record: i32,
                keys: &[String],
                written: &mut WrittenKeys,
            ) -> Result<(), StorageError> {
                delete_blocking_keys(conn, record, written).await?;
                insert_blocking_keys(conn, record, keys, written).await
            }

            /// Removes the blocking keys of `record`, noting them in `written`.
            async fn delete_blocking_keys(
                conn: &mut Conn,
                record: i32,
                written: &mut WrittenKeys,
            ) -> Result<(), StorageError> {
                let deleted: Vec<String> =
                    diesel::delete(keys_t::table.filter(keys_t::record_id.eq(record)))
                        .returning(keys_t::key)
                        .load(conn)
                        .await?;
                for key in &deleted {
                    written.wrote(key);
                }
                Ok(())
            }

            /// Indexes a record that has no blocking keys yet, noting them in `written`.
            async fn insert_blocking_keys(
                conn: &mut Conn,
                record: i32,
                keys: &[String],
                written: &mut WrittenKeys,
            ) -> Result<(), StorageError> {
                let unique: BTreeSet<&String> = keys.iter().collect();
                for key in unique {
                    diesel::insert_into(keys_t::table)
                        .values((keys_t::key.eq(key), keys_t::record_id.eq(record)))
                        .execute(conn)
                        .await?;
                    written.wrote(key);
                }
                Ok(())
            }

            /// Active records sharing a blocking key with `keys`, other than `exclude`, at most
            /// `limit`, by id, each from `cache` or read and normalised here; and those read
            /// here (for the writer to [`PreparedCache::keep`]).
            ///
            /// Only active records have blocking keys (a merge deletes the subsumed record's
            /// keys with its link; a feed writes a record's keys and its link in one
            /// transaction), so the candidates are read from the keys alone: their persons are
            /// looked up afterwards, for the few decisions stored ([`persons_of`]), not for each
            /// record compared.
            pub(super) async fn candidates(
                conn: &mut Conn,
                keys: &[String],
                exclude: i32,
                limit: i64,
                cache: &PreparedCache,
            ) -> Result<(Vec<ReadCandidate>, Vec<ReadCandidate>), StorageError> {
                if keys.is_empty() {
                    return Ok((Vec::new(), Vec::new()));
                }
                let mut ids: Vec<i32> = LiteralLimit::new(
                    keys_t::table
                        .filter(in_list::of(keys_t::key, keys)?)
                        .filter(keys_t::record_id.ne(exclude))
                        .select(keys_t::record_id)
                        .distinct(),
                    limit,
                )
                .load(conn)
                .await?;
                ids.sort_unstable();
                let (mut found, missing) = cache.look_up(&ids);
                let mut read = Vec::with_capacity(missing.len());
                if !missing.is_empty() {
                    let rows: Vec<(i32, String, String, String)> = records::table
                        .filter(in_list::of(records::id, &missing)?)
                        .select(RECORD_COLUMNS)
                        .load(conn)
                        .await?;
                    for (id, domain, local_id, json) in rows {
                        let prepared = Prepared::new(&demographics_of(id, &json)?);
                        let record = CandidateRecord {
                            domain,
                            local_id,
                            prepared,
                        };
                        read.push((id, Arc::new(record)));
                    }
                    if read.len() != missing.len() {
                        // each was read just above, in this transaction
                        return Err(diesel::result::Error::NotFound.into());
                    }
                    found.extend(read.iter().cloned());
                    found.sort_unstable_by_key(|(id, _)| *id);
                }
                Ok((found, read))
            }

            /// `input`'s record assessed against each of `candidates`.
            pub(super) fn assess_candidates(
                matcher: &Matcher,
                input: &FeedInput,
                candidates: &[ReadCandidate],
            ) -> Vec<(i32, Assessment)> {
                let FeedInput { key, mine, .. } = input;
                candidates
                    .iter()
                    .map(|(cid, other)| {
                        let assessment = matcher.assess(
                            (&key.domain, &key.local_id, mine),
                            (&other.domain, &other.local_id, &other.prepared),
                        );
                        (*cid, assessment)
                    })
                    .collect()
            }

            /// The person of each of `records` that has one (is active).
            async fn persons_of(
                conn: &mut Conn,
                records: &[i32],
            ) -> Result<BTreeMap<i32, i32>, StorageError> {
                if records.is_empty() {
                    return Ok(BTreeMap::new());
                }
                let rows: Vec<(i32, i32)> = links::table
                    .filter(in_list::of(links::record_id, records)?)
                    .select((links::record_id, links::person_id))
                    .load(conn)
                    .await?;
                Ok(rows.into_iter().collect())
            }

            /// Whether `person` holds a record of `domain` other than `except`.
            ///
            /// The person's records are read by person (a few rows) and their domains compared
            /// here: with the domain in the query, SQLite (no statistics) read it through the
            /// `(domain, local_id)` index, every record of the domain, one `links` lookup each,
            /// so each auto-link decision cost grew with the MPI (800,000 VDBE steps for a
            /// domain of 100,000 records, against 15 now).
            async fn person_has_domain(
                conn: &mut Conn,
                person: i32,
                domain: &str,
                except: i32,
            ) -> Result<bool, StorageError> {
                let held: Vec<(i32, String)> = links::table
                    .inner_join(records::table)
                    .filter(links::person_id.eq(person))
                    .select((records::id, records::domain))
                    .load(conn)
                    .await?;
                Ok(held.iter().any(|(id, d)| *id != except && d == domain))
            }

            /// The active records of a person: (id, domain, local id, prepared demographics).
            async fn members(
                conn: &mut Conn,
                person: i32,
            ) -> Result<Vec<(i32, String, String, Prepared)>, StorageError> {
                let rows: Vec<(i32, String, String, String)> = links::table
                    .inner_join(records::table)
                    .filter(links::person_id.eq(person))
                    .select(RECORD_COLUMNS)
                    .load(conn)
                    .await?;
                rows.into_iter()
                    .map(|(id, domain, local_id, json)| {
                        Ok((
                            id,
                            domain,
                            local_id,
                            Prepared::new(&demographics_of(id, &json)?),
                        ))
                    })
                    .collect()
            }

            /// A record auto-linked to two persons bridges them: `from` joins `into` (which
            /// keeps its affinity-domain id; `from` is marked merged into it) when no two of
            /// their records share a domain and [`Matcher::may_bridge`] holds for every pair
            /// across them. Returns the merge when it happened.
            async fn bridge(
                conn: &mut Conn,
                matcher: &Matcher,
                from: i32,
                into: i32,
                by_record: i32,
            ) -> Result<Option<PersonsMerged>, StorageError> {
                let left = members(conn, from).await?;
                let right = members(conn, into).await?;
                let safe = left.iter().all(|(_, da, ia, pa)| {
                    right.iter().all(|(_, db, ib, pb)| {
                        da != db && matcher.may_bridge((da, ia, pa), (db, ib, pb))
                    })
                });
                if !safe {
                    return Ok(None);
                }
                let reason = format!("auto-link bridge: record {by_record} auto-links to both");
                for (record, ..) in &left {
                    move_record(conn, *record, into, "link", &reason).await?;
                }
                retire(conn, from, into).await.map(Some)
            }

            /// Marks the person `retired` merged into `surviving` (its records have moved).
            async fn retire(
                conn: &mut Conn,
                retired: i32,
                surviving: i32,
            ) -> Result<PersonsMerged, StorageError> {
                diesel::update(persons::table.find(retired))
                    .set(persons::merged_into.eq(Some(surviving)))
                    .execute(conn)
                    .await?;
                let affinity_id =
                    |person: i32| persons::table.find(person).select(persons::affinity_id);
                Ok(PersonsMerged {
                    retired: affinity_id(retired).first(conn).await?,
                    surviving: affinity_id(surviving).first(conn).await?,
                })
            }

            /// Stores the decisions of `record` against its candidates that
            /// [`decisions_to_store`] keeps; returns (decision id, candidate id) pairs.
            async fn insert_decisions(
                conn: &mut Conn,
                record: i32,
                decided: &[(i32, Assessment)],
            ) -> Result<Vec<(i32, i32)>, StorageError> {
                let ts = now();
                let zones: Vec<(Zone, f64)> =
                    decided.iter().map(|(_, a)| (a.zone, a.score)).collect();
                let stored = decisions_to_store(&zones);
                let mut ids = Vec::with_capacity(stored.len());
                for (index, other_no_links) in stored {
                    let (candidate, assessment) = &decided[index];
                    let (candidate, decision) = (*candidate, assessment.decision());
                    let id: i32 = diesel::insert_into(decisions::table)
                        .values((
                            decisions::record_id.eq(record),
                            decisions::candidate_id.eq(candidate),
                            decisions::score.eq(decision.score),
                            decisions::zone.eq(zone_name(decision.zone)),
                            decisions::fields.eq(to_json(record, &decision.fields)?),
                            decisions::guard.eq(decision.guard.as_deref()),
                            decisions::other_no_links.eq(other_no_links),
                            decisions::created_at.eq(ts),
                        ))
                        .returning(decisions::id)
                        .get_result(conn)
                        .await?;
                    ids.push((id, candidate));
                }
                Ok(ids)
            }

            /// ITI-8 register or update: stores the record and its blocking keys; a new record is
            /// compared with the candidates sharing a key (its decisions stored as
            /// [`decisions_to_store`] says) and joins the
            /// best AutoLink candidate's person unless that person already holds a record of the
            /// same domain; Review pairs go to the review queue; otherwise a new person is made.
            /// An update (A08, or a known id fed again) keeps the record's person.
            ///
            /// A new record is inserted by a statement prepared once (an upsert's `DO UPDATE`
            /// is prepared anew each time by diesel), a known one updated by a second.
            ///
            /// `ahead`, when given, holds the candidates assessed before the feed was queued;
            /// they are taken as read here when none of the record's keys was written since
            /// (see [`crate::storage::ahead`]).
            pub async fn feed(
                conn: &mut Conn,
                input: &FeedInput,
                ahead: Option<MatchedAhead>,
                matcher: &Matcher,
                max_candidates: i64,
                memory: &mut WriterMemory,
            ) -> Result<FeedOutcome, StorageError> {
                let FeedInput { key, json, keys, .. } = input;
                let ahead = ahead.filter(|ahead| {
                    memory.written_keys.unchanged_since(ahead.as_of, keys)
                });
                conn.transaction(async |conn| {
                    let ts = now();
                    let inserted: Option<i32> = diesel::insert_into(records::table)
                        .values((
                            records::domain.eq(&key.domain),
                            records::local_id.eq(&key.local_id),
                            records::demographics.eq(json),
                            records::updated_at.eq(ts),
                        ))
                        .on_conflict((records::domain, records::local_id))
                        .do_nothing()
                        .returning(records::id)
                        .get_result(conn)
                        .await
                        .optional()?;
                    // a record just inserted has no link yet
                    let (id, linked): (i32, Option<i32>) = match inserted {
                        Some(id) => (id, None),
                        None => {
                            let (id, merged_into): (i32, Option<i32>) = diesel::update(
                                records::table
                                    .filter(records::domain.eq(&key.domain))
                                    .filter(records::local_id.eq(&key.local_id)),
                            )
                            .set((records::demographics.eq(json), records::updated_at.eq(ts)))
                            .returning((records::id, records::merged_into))
                            .get_result(conn)
                            .await?;
                            if merged_into.is_some() {
                                return Err(StorageError::MergedRecord {
                                    domain: key.domain.clone(),
                                    local_id: key.local_id.clone(),
                                });
                            }
                            let linked = linked_person(conn, id).await?;
                            (id, linked)
                        }
                    };
                    if linked.is_some() {
                        memory.prepared.forget(id);
                        set_blocking_keys(conn, id, keys, &mut memory.written_keys).await?;
                    } else {
                        insert_blocking_keys(conn, id, keys, &mut memory.written_keys).await?;
                    }
                    if let Some(person) = linked {
                        let identity = identity(conn, person).await?;
                        return Ok(FeedOutcome {
                            affinity_id: identity.affinity_id.clone(),
                            changed: vec![identity],
                            merged: Vec::new(),
                        });
                    }
                    // the ahead assessment is of a record not yet stored: an update reads anew
                    let decided = match ahead.filter(|_| inserted.is_some()) {
                        Some(ahead) => {
                            metrics::counter!("pix_feed_matching_total", "where" => "ahead")
                                .increment(1);
                            memory.prepared.keep(&ahead.read);
                            ahead.decided
                        }
                        None => {
                            metrics::counter!("pix_feed_matching_total", "where" => "writer")
                                .increment(1);
                            let (found, read) =
                                candidates(conn, keys, id, max_candidates, &memory.prepared)
                                    .await?;
                            memory.prepared.keep(&read);
                            assess_candidates(matcher, input, &found)
                        }
                    };
                    let decision_ids: BTreeMap<i32, i32> = insert_decisions(conn, id, &decided)
                        .await?
                        .into_iter()
                        .map(|(decision_id, cid)| (cid, decision_id))
                        .collect();
                    let stored: Vec<i32> = decision_ids.keys().copied().collect();
                    let person_of_candidate = persons_of(conn, &stored).await?;
                    let mut scored = Vec::with_capacity(decided.len());
                    for (cid, decision) in &decided {
                        let (Some(&decision_id), Some(&person)) =
                            (decision_ids.get(cid), person_of_candidate.get(cid))
                        else {
                            continue;
                        };
                        scored.push((decision_id, *cid, person, decision.zone, decision.score));
                    }
                    scored.sort_by(|a, b| b.4.total_cmp(&a.4));
                    let mut chosen = None;
                    let mut blocked = BTreeSet::new();
                    let mut bridged = BTreeSet::new();
                    let mut merged = Vec::new();
                    let mut tried = BTreeSet::new();
                    for (decision_id, _, person, zone, score) in &scored {
                        if *zone != Zone::AutoLink || tried.contains(person) {
                            continue;
                        }
                        if person_has_domain(conn, *person, &key.domain, id).await? {
                            blocked.insert(*decision_id);
                            continue;
                        }
                        match chosen {
                            None => chosen = Some((*person, *score)),
                            Some((target, _)) if target != *person => {
                                tried.insert(*person);
                                if let Some(merge) =
                                    bridge(conn, matcher, *person, target, id).await?
                                {
                                    bridged.insert(*person);
                                    merged.push(merge);
                                }
                            }
                            Some(_) => {}
                        }
                    }
                    // the affinity-domain id of a person made for the record, which is its only one
                    let (person, new_affinity_id, action, reason) = match chosen {
                        Some((person, score)) => {
                            (person, None, "link", format!("auto-link, score {score:.3}"))
                        }
                        None => {
                            let (person, affinity_id) = new_person(conn).await?;
                            let reason =
                                format!("no auto-link candidate among {} compared", decided.len());
                            (person, Some(affinity_id), "new", reason)
                        }
                    };
                    // the record had no link when the feed began, and bridging moves only
                    // records of linked persons
                    link_unlinked(conn, id, person, action, &reason).await?;
                    for (decision_id, cid, other_person, zone, _) in &scored {
                        let review = *zone == Zone::Review || blocked.contains(decision_id);
                        if review && *other_person != person && !bridged.contains(other_person) {
                            diesel::insert_into(review_queue::table)
                                .values((
                                    review_queue::decision_id.eq(decision_id),
                                    review_queue::record_id.eq(id),
                                    review_queue::candidate_id.eq(cid),
                                    review_queue::status.eq(PENDING),
                                ))
                                .execute(conn)
                                .await?;
                        }
                    }
                    let identity = match new_affinity_id {
                        Some(affinity_id) => PersonIdentity {
                            affinity_id,
                            records: vec![key.clone()],
                        },
                        None => identity(conn, person).await?,
                    };
                    Ok(FeedOutcome {
                        affinity_id: identity.affinity_id.clone(),
                        changed: vec![identity],
                        merged,
                    })
                })
                .await
            }

            /// ITI-8 A40 merge: `subsumed` is retired into `surviving` (which gets
            /// `demographics`); the subsumed record's person joins the surviving person, which
            /// keeps its affinity-domain id. A surviving id not yet known renames the subsumed
            /// record.
            pub async fn merge(
                conn: &mut Conn,
                surviving: &PatientKey,
                subsumed: &PatientKey,
                demographics: &Demographics,
                memory: &mut WriterMemory,
            ) -> Result<FeedOutcome, StorageError> {
                let json = to_json(0, demographics)?;
                let keys = blocking_keys(demographics);
                conn.transaction(async |conn| {
                    let sub_id = touch_active(conn, subsumed).await?;
                    memory.prepared.forget(sub_id);
                    let sub_person = person_of(conn, sub_id).await?;
                    let reason = format!(
                        "A40: {} merged into {}",
                        subsumed.local_id, surviving.local_id
                    );
                    let surv_id = match record_row(conn, surviving).await? {
                        Some((_, Some(_))) => return Err(missing_record(conn, surviving).await),
                        Some((surv_id, None)) => surv_id,
                        None => {
                            diesel::update(records::table.find(sub_id))
                                .set((
                                    records::domain.eq(&surviving.domain),
                                    records::local_id.eq(&surviving.local_id),
                                    records::demographics.eq(&json),
                                ))
                                .execute(conn)
                                .await?;
                            set_blocking_keys(conn, sub_id, &keys, &mut memory.written_keys)
                                .await?;
                            record_history(
                                conn,
                                sub_id,
                                "renamed",
                                Some(sub_person),
                                Some(sub_person),
                                &reason,
                            )
                            .await?;
                            let identity = identity(conn, sub_person).await?;
                            return Ok(FeedOutcome {
                                affinity_id: identity.affinity_id.clone(),
                                changed: vec![identity],
                                merged: Vec::new(),
                            });
                        }
                    };
                    let surv_person = person_of(conn, surv_id).await?;
                    memory.prepared.forget(surv_id);
                    diesel::update(records::table.find(surv_id))
                        .set((
                            records::demographics.eq(&json),
                            records::updated_at.eq(now()),
                        ))
                        .execute(conn)
                        .await?;
                    set_blocking_keys(conn, surv_id, &keys, &mut memory.written_keys).await?;
                    diesel::delete(links::table.find(sub_id))
                        .execute(conn)
                        .await?;
                    delete_blocking_keys(conn, sub_id, &mut memory.written_keys).await?;
                    diesel::update(records::table.find(sub_id))
                        .set(records::merged_into.eq(Some(surv_id)))
                        .execute(conn)
                        .await?;
                    record_history(
                        conn,
                        sub_id,
                        "merged",
                        Some(sub_person),
                        Some(surv_person),
                        &reason,
                    )
                    .await?;
                    let mut merged = Vec::new();
                    if sub_person != surv_person {
                        let others: Vec<i32> = links::table
                            .filter(links::person_id.eq(sub_person))
                            .select(links::record_id)
                            .load(conn)
                            .await?;
                        for other in others {
                            move_record(conn, other, surv_person, "merged", &reason).await?;
                        }
                        merged.push(retire(conn, sub_person, surv_person).await?);
                    }
                    let identity = identity(conn, surv_person).await?;
                    Ok(FeedOutcome {
                        affinity_id: identity.affinity_id.clone(),
                        changed: vec![identity],
                        merged,
                    })
                })
                .await
            }

            /// Moves the record `key` to the person of `target` (manual link).
            pub async fn link(
                conn: &mut Conn,
                key: &PatientKey,
                target: &PatientKey,
                reason: &str,
            ) -> Result<FeedOutcome, StorageError> {
                conn.transaction(async |conn| {
                    let record = touch_active(conn, key).await?;
                    let target_record = touch_active(conn, target).await?;
                    let to = person_of(conn, target_record).await?;
                    let from = move_record(conn, record, to, "link", reason).await?;
                    changed_persons(conn, to, from).await
                })
                .await
            }

            /// Gives the record `key` a person of its own (manual unlink).
            pub async fn unlink(
                conn: &mut Conn,
                key: &PatientKey,
                reason: &str,
            ) -> Result<FeedOutcome, StorageError> {
                conn.transaction(async |conn| {
                    let record = touch_active(conn, key).await?;
                    let (to, _) = new_person(conn).await?;
                    let from = move_record(conn, record, to, "unlink", reason).await?;
                    changed_persons(conn, to, from).await
                })
                .await
            }

            /// After a record moved from `from` to `to`: both persons changed, and a `from`
            /// left without records is retired into `to` (its affinity-domain id now means `to`).
            async fn changed_persons(
                conn: &mut Conn,
                to: i32,
                from: Option<i32>,
            ) -> Result<FeedOutcome, StorageError> {
                let identity_to = identity(conn, to).await?;
                let mut changed = vec![identity_to.clone()];
                let mut merged = Vec::new();
                if let Some(from) = from.filter(|f| *f != to) {
                    let identity_from = identity(conn, from).await?;
                    if identity_from.records.is_empty() {
                        merged.push(retire(conn, from, to).await?);
                    } else {
                        changed.push(identity_from);
                    }
                }
                Ok(FeedOutcome {
                    affinity_id: identity_to.affinity_id,
                    changed,
                    merged,
                })
            }

            /// ITI-9: the person of an active record.
            pub async fn person_by_key(
                conn: &mut Conn,
                key: &PatientKey,
            ) -> Result<Option<PersonIdentity>, StorageError> {
                let person: Option<i32> = records::table
                    .inner_join(links::table)
                    .filter(records::domain.eq(&key.domain))
                    .filter(records::local_id.eq(&key.local_id))
                    .select(links::person_id)
                    .first(conn)
                    .await
                    .optional()?;
                match person {
                    Some(person) => Ok(Some(identity(conn, person).await?)),
                    None => Ok(None),
                }
            }

            /// ITI-9 by affinity-domain id: the person (a merged person answers as the one it
            /// was merged into).
            pub async fn person_by_affinity_id(
                conn: &mut Conn,
                affinity_id: &str,
            ) -> Result<Option<PersonIdentity>, StorageError> {
                let row: Option<(i32, Option<i32>)> = persons::table
                    .filter(persons::affinity_id.eq(affinity_id))
                    .select((persons::id, persons::merged_into))
                    .first(conn)
                    .await
                    .optional()?;
                match row {
                    Some((id, merged_into)) => {
                        Ok(Some(identity(conn, merged_into.unwrap_or(id)).await?))
                    }
                    None => Ok(None),
                }
            }

            async fn stored_records(
                conn: &mut Conn,
                ids: &[i32],
            ) -> Result<Vec<StoredRecord>, StorageError> {
                let rows: Vec<(i32, String, String, String, String)> = records::table
                    .inner_join(links::table.inner_join(persons::table))
                    .filter(in_list::of(records::id, ids)?)
                    .select((
                        records::id,
                        records::domain,
                        records::local_id,
                        records::demographics,
                        persons::affinity_id,
                    ))
                    .load(conn)
                    .await?;
                rows.into_iter()
                    .map(|(id, domain, local_id, json, affinity_id)| {
                        Ok(StoredRecord {
                            id,
                            key: PatientKey { domain, local_id },
                            demographics: demographics_of(id, &json)?,
                            affinity_id,
                        })
                    })
                    .collect()
            }

            /// ITI-21 candidates: active records holding any of `keys` (every active record
            /// when `keys` is empty) or every one of them, as `held` says, at most `limit`. The
            /// records are found from the keys' entries alone and only those found are loaded:
            /// with every key required, a few, where a common name's key alone holds thousands.
            pub async fn records_for_keys(
                conn: &mut Conn,
                keys: &[String],
                held: KeysHeld,
                limit: i64,
            ) -> Result<Vec<StoredRecord>, StorageError> {
                let ids: Vec<i32> = if keys.is_empty() {
                    links::table
                        .select(links::record_id)
                        .order(links::record_id)
                        .limit(limit)
                        .load(conn)
                        .await?
                } else if held == KeysHeld::Any {
                    LiteralLimit::new(
                        keys_t::table
                            .filter(in_list::of(keys_t::key, keys)?)
                            .select(keys_t::record_id)
                            .distinct(),
                        limit,
                    )
                    .load(conn)
                    .await?
                } else {
                    let unique: BTreeSet<&String> = keys.iter().collect();
                    let wanted = i64::try_from(unique.len()).unwrap_or(i64::MAX);
                    let unique: Vec<&String> = unique.into_iter().collect();
                    LiteralLimit::new(
                        keys_t::table
                            .filter(in_list::of(keys_t::key, &unique)?)
                            .group_by(keys_t::record_id)
                            .having(diesel::dsl::count_star().eq(wanted))
                            .select(keys_t::record_id),
                        limit,
                    )
                    .load(conn)
                    .await?
                };
                stored_records(conn, &ids).await
            }

            /// ITI-21 by identifier: the active records with this local id (in `domain` when
            /// given), found by the id itself, whatever the size of the MPI.
            pub async fn records_by_local_id(
                conn: &mut Conn,
                local_id: &str,
                domain: Option<&str>,
            ) -> Result<Vec<StoredRecord>, StorageError> {
                let mut query = records::table
                    .inner_join(links::table)
                    .filter(records::local_id.eq(local_id))
                    .select(records::id)
                    .into_boxed();
                if let Some(domain) = domain {
                    query = query.filter(records::domain.eq(domain));
                }
                let ids: Vec<i32> = query.load(conn).await?;
                stored_records(conn, &ids).await
            }

            /// Pending review-queue entries with both records and the stored decision, oldest
            /// first (entries whose record was merged away are left out).
            pub async fn pending_reviews(
                conn: &mut Conn,
                limit: i64,
            ) -> Result<Vec<ReviewItem>, StorageError> {
                let rows: Vec<(i32, i32, i32, i32)> = review_queue::table
                    .filter(review_queue::status.eq(PENDING))
                    .order(review_queue::id)
                    .limit(limit)
                    .select((
                        review_queue::id,
                        review_queue::decision_id,
                        review_queue::record_id,
                        review_queue::candidate_id,
                    ))
                    .load(conn)
                    .await?;
                let mut items = Vec::with_capacity(rows.len());
                for (id, decision_id, record_id, candidate_id) in rows {
                    let mut found: BTreeMap<i32, StoredRecord> =
                        stored_records(conn, &[record_id, candidate_id])
                            .await?
                            .into_iter()
                            .map(|r| (r.id, r))
                            .collect();
                    let (Some(record), Some(candidate)) =
                        (found.remove(&record_id), found.remove(&candidate_id))
                    else {
                        continue;
                    };
                    let (score, zone, fields, guard): (f64, String, String, Option<String>) =
                        decisions::table
                            .find(decision_id)
                            .select((
                                decisions::score,
                                decisions::zone,
                                decisions::fields,
                                decisions::guard,
                            ))
                            .first(conn)
                            .await?;
                    let fields: Vec<FieldScore> = serde_json::from_str(&fields)
                        .map_err(|source| StorageError::Json { record_id, source })?;
                    items.push(ReviewItem {
                        id,
                        record,
                        candidate,
                        decision: Decision {
                            score,
                            zone: zone_from(&zone),
                            fields,
                            guard,
                        },
                    });
                }
                Ok(items)
            }

            /// Accepts (the record joins the candidate's person: the outcome) or rejects a
            /// pending review.
            pub async fn resolve_review(
                conn: &mut Conn,
                id: i32,
                accept: bool,
            ) -> Result<Option<FeedOutcome>, StorageError> {
                conn.transaction(async |conn| {
                    let status = if accept { ACCEPTED } else { REJECTED };
                    let pair: Option<(i32, i32)> = diesel::update(
                        review_queue::table
                            .filter(review_queue::id.eq(id))
                            .filter(review_queue::status.eq(PENDING)),
                    )
                    .set((
                        review_queue::status.eq(status),
                        review_queue::resolved_at.eq(Some(now())),
                    ))
                    .returning((review_queue::record_id, review_queue::candidate_id))
                    .get_result(conn)
                    .await
                    .optional()?;
                    let Some((record, candidate)) = pair else {
                        return Err(StorageError::UnknownReview { id });
                    };
                    if !accept {
                        return Ok(None);
                    }
                    let to = person_of(conn, candidate).await?;
                    let reason = format!("review {id} accepted");
                    let from = move_record(conn, record, to, "link", &reason).await?;
                    changed_persons(conn, to, from).await.map(Some)
                })
                .await
            }

            /// The link history of a record, oldest first.
            pub async fn history(
                conn: &mut Conn,
                key: &PatientKey,
            ) -> Result<Vec<HistoryEntry>, StorageError> {
                let Some((record, _)) = record_row(conn, key).await? else {
                    return Err(missing_record(conn, key).await);
                };
                let rows: Vec<(String, Option<i32>, Option<i32>, String, i64)> =
                    link_history::table
                        .filter(link_history::record_id.eq(record))
                        .order(link_history::id)
                        .select((
                            link_history::action,
                            link_history::from_person,
                            link_history::to_person,
                            link_history::reason,
                            link_history::at,
                        ))
                        .load(conn)
                        .await?;
                let ids: BTreeSet<i32> = rows.iter().flat_map(|r| [r.1, r.2]).flatten().collect();
                let ids: Vec<i32> = ids.into_iter().collect();
                let names: BTreeMap<i32, String> = persons::table
                    .filter(persons::id.eq_any(&ids))
                    .select((persons::id, persons::affinity_id))
                    .load::<(i32, String)>(conn)
                    .await?
                    .into_iter()
                    .collect();
                let name = |p: Option<i32>| p.and_then(|p| names.get(&p).cloned());
                Ok(rows
                    .into_iter()
                    .map(|(action, from, to, reason, at)| HistoryEntry {
                        action,
                        from_person: name(from),
                        to_person: name(to),
                        reason,
                        at,
                    })
                    .collect())
            }

            /// The stored decisions of a record (made when it arrived), oldest first, each with
            /// the candidate's key.
            pub async fn decisions_of(
                conn: &mut Conn,
                key: &PatientKey,
            ) -> Result<Vec<StoredDecision>, StorageError> {
                let Some((record, _)) = record_row(conn, key).await? else {
                    return Err(missing_record(conn, key).await);
                };
                let rows: Vec<DecisionRow> = decisions::table
                    .inner_join(records::table.on(records::id.eq(decisions::candidate_id)))
                    .filter(decisions::record_id.eq(record))
                    .order(decisions::id)
                    .select((
                        decisions::id,
                        records::domain,
                        records::local_id,
                        decisions::score,
                        decisions::zone,
                        decisions::fields,
                        decisions::guard,
                        decisions::other_no_links,
                    ))
                    .load(conn)
                    .await?;
                rows.into_iter()
                    .map(
                        |(id, domain, local_id, score, zone, fields, guard, other_no_links)| {
                            Ok(StoredDecision {
                                id,
                                candidate: PatientKey { domain, local_id },
                                decision: Decision {
                                    score,
                                    zone: zone_from(&zone),
                                    fields: serde_json::from_str(&fields).map_err(|source| {
                                        StorageError::Json {
                                            record_id: record,
                                            source,
                                        }
                                    })?,
                                    guard,
                                },
                                other_no_links,
                            })
                        },
                    )
                    .collect()
            }

            /// Every active record with its person's affinity-domain id.
            pub async fn all_links(
                conn: &mut Conn,
            ) -> Result<Vec<(String, PatientKey)>, StorageError> {
                let rows: Vec<(String, String, String)> = links::table
                    .inner_join(records::table)
                    .inner_join(persons::table)
                    .select((persons::affinity_id, records::domain, records::local_id))
                    .order((links::person_id, records::id))
                    .load(conn)
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|(person, domain, local_id)| (person, PatientKey { domain, local_id }))
                    .collect())
            }
        }
    };
}

backend_ops!(sqlite, crate::storage::SqliteConn, super::in_list::sqlite);

backend_ops!(
    postgres,
    diesel_async::AsyncPgConnection,
    super::in_list::postgres
);

/// The candidates of `input`'s record, not yet stored, assessed as [`sqlite::feed`] would:
/// on an SQLite reader connection, before the feed is queued to the writer (see
/// [`super::ahead`]). Returns the assessments and the records read (not found in `cache`).
pub async fn match_ahead(
    conn: &mut super::SqliteConn,
    input: &FeedInput,
    matcher: &crate::matching::Matcher,
    max_candidates: i64,
    cache: &PreparedCache,
) -> Result<(Vec<(i32, crate::matching::Assessment)>, Vec<ReadCandidate>), StorageError> {
    let (found, read) =
        sqlite::candidates(conn, &input.keys, NO_RECORD, max_candidates, cache).await?;
    Ok((sqlite::assess_candidates(matcher, input, &found), read))
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;

    use super::*;
    use crate::storage::Database;
    use crate::storage::schema::blocking_keys as keys_t;
    use crate::storage::sqlite::run;

    #[derive(diesel::QueryableByName)]
    struct PlanStep {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    /// The candidate query with the reusable `IN` list reads the same records, in the same
    /// order, as with diesel's `IN (?, ...)` list, cut at the limit in the same place (the limit
    /// bound or written into the statement), and through the blocking keys' primary key.
    #[tokio::test]
    async fn the_reusable_in_list_reads_the_candidates_the_in_list_did() {
        let db = Database::connect("sqlite::memory:").await.expect("MPI");
        let Database::Sqlite(sqlite) = &db else {
            panic!("an SQLite MPI");
        };
        let (json_ids, literal_ids, listed_ids, plan) = sqlite
            .write(|conn| {
                run(async {
                    // 300 records; record i holds key k<i mod 7> and k<i mod 5>, so the
                    // queried keys share records and hold more than the limit together
                    for i in 1..=300 {
                        diesel::sql_query(format!(
                            "INSERT INTO records (id, domain, local_id, demographics, updated_at) \
                             VALUES ({i}, 'D', 'L{i}', '{{}}', 0)"
                        ))
                        .execute(conn)
                        .await?;
                        for key in [format!("a:k{}", i % 7), format!("b:k{}", i % 5)] {
                            diesel::sql_query(format!(
                                "INSERT INTO blocking_keys (key, record_id) VALUES ('{key}', {i})"
                            ))
                            .execute(conn)
                            .await?;
                        }
                    }
                    // not in key order, with a key no record has
                    let keys: Vec<String> = ["b:k3", "a:k2", "zz:none", "a:k5", "b:k0"]
                        .map(str::to_owned)
                        .to_vec();
                    let json_ids: Vec<i32> = keys_t::table
                        .filter(in_list::sqlite::of(keys_t::key, &keys)?)
                        .filter(keys_t::record_id.ne(12))
                        .select(keys_t::record_id)
                        .distinct()
                        .limit(100)
                        .load(conn)
                        .await?;
                    let literal_ids: Vec<i32> = LiteralLimit::new(
                        keys_t::table
                            .filter(in_list::sqlite::of(keys_t::key, &keys)?)
                            .filter(keys_t::record_id.ne(12))
                            .select(keys_t::record_id)
                            .distinct(),
                        100,
                    )
                    .load(conn)
                    .await?;
                    let listed_ids: Vec<i32> = keys_t::table
                        .filter(keys_t::key.eq_any(&keys))
                        .filter(keys_t::record_id.ne(12))
                        .select(keys_t::record_id)
                        .distinct()
                        .limit(100)
                        .load(conn)
                        .await?;
                    let plan: Vec<PlanStep> = diesel::sql_query(
                        "EXPLAIN QUERY PLAN SELECT DISTINCT record_id FROM blocking_keys \
                         WHERE key IN (SELECT value FROM json_each('[\"a\",\"b\"]')) \
                         AND record_id != 0 LIMIT 200",
                    )
                    .load(conn)
                    .await?;
                    Ok::<_, StorageError>((json_ids, literal_ids, listed_ids, plan))
                })
            })
            .await
            .expect("queries");
        assert_eq!(json_ids.len(), 100, "cut at the limit");
        assert_eq!(json_ids, listed_ids);
        assert_eq!(
            literal_ids, listed_ids,
            "the limit written into the statement"
        );
        let plan: Vec<&str> = plan.iter().map(|step| step.detail.as_str()).collect();
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH blocking_keys")
                    && step.contains("PRIMARY KEY (key=?)")),
            "{plan:?}"
        );
    }

    /// Every AutoLink and Review decision is stored; of the NoLink ones the highest-scoring
    /// stands for the others, which are counted.
    #[test]
    fn no_link_decisions_are_stored_as_the_closest_with_the_count_of_the_others() {
        let decided = [
            (Zone::NoLink, -3.0),
            (Zone::AutoLink, 12.0),
            (Zone::NoLink, 1.5),
            (Zone::Review, 6.0),
            (Zone::NoLink, -9.0),
        ];
        assert_eq!(decisions_to_store(&decided), [(1, 0), (3, 0), (2, 2)]);
    }

    /// A record without NoLink candidates stores no NoLink row.
    #[test]
    fn without_no_link_candidates_no_no_link_row_is_stored() {
        assert_eq!(decisions_to_store(&[(Zone::Review, 6.0)]), [(0, 0)]);
        assert!(decisions_to_store(&[]).is_empty());
    }
}
