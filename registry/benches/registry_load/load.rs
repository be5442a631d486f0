//! Filling a benchmark database with the corpus, fast, outside the measured part: multi-row
//! INSERTs in large transactions on two PostgreSQL connections, and one bulk transaction per
//! chunk on a sync SQLite connection. A database already holding the corpus is reused.
//!
//! Rows are written in rounds, document `d` of every patient in round `d`, the order in which
//! a registry receives documents of many patients over time: one patient's entries end up on
//! as many table pages as it has documents, as in a registry that has been in service a while.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use registry::storage::schema::{
    associations, object_authors, object_codes, object_reference_ids, patients, registry_objects,
};
use registry::storage::{
    Database, NewAssociation, NewAuthor, NewCode, NewObject, NewReferenceId, ObjectKind,
    PatientRecord, PatientStatus,
};

use crate::corpus;
use crate::{BenchError, Size};

/// Patients written per INSERT batch (and per transaction).
const PATIENTS_PER_BATCH: u32 = 1000;
/// Rows per multi-row INSERT statement (PostgreSQL binds at most 65,535 parameters).
const ROWS_PER_STATEMENT: usize = 1000;
/// PostgreSQL connections loading in parallel.
const POSTGRES_LOADERS: u32 = 2;

/// The rows of one batch: documents of a range of patients, one round.
#[derive(Default)]
struct Batch {
    patients: Vec<PatientRecord>,
    objects: Vec<NewObject>,
    codes: Vec<NewCode>,
    authors: Vec<NewAuthor>,
    reference_ids: Vec<NewReferenceId>,
    associations: Vec<NewAssociation>,
}

impl Batch {
    /// Patients `patients` with their SubmissionSets (written before any document).
    fn submission_sets(patients: std::ops::Range<u32>) -> Batch {
        let mut batch = Batch::default();
        for p in patients {
            batch.patients.push(PatientRecord {
                patient_id: corpus::patient_id(p),
                status: PatientStatus::Active,
                merged_into: None,
                updated_at: 0,
            });
            let (set, code, author) = corpus::corpus_submission_set(p);
            batch.objects.push(set);
            batch.codes.push(code);
            batch.authors.push(author);
        }
        batch
    }

    /// Document `d` of each patient in `patients`, with its HasMember Association.
    fn documents(patients: std::ops::Range<u32>, d: u32) -> Batch {
        let mut batch = Batch::default();
        for p in patients {
            let (rows, association) = corpus::corpus_document(p, d);
            batch.objects.push(rows.object);
            batch.codes.extend(rows.codes);
            batch.authors.push(rows.author);
            batch.reference_ids.push(rows.reference_id);
            batch.associations.push(association);
        }
        batch
    }
}

/// What loading did.
pub struct LoadReport {
    /// Whether the corpus was already there.
    pub reused: bool,
    /// Time spent writing (zero when reused).
    pub elapsed: Duration,
}

/// Counts the corpus DocumentEntries and patients (the benchmark's registrations excluded).
async fn corpus_counts(db: &Database) -> Result<(i64, i64), BenchError> {
    let registration = corpus::registration_patient_id();
    macro_rules! counts {
        ($conn:expr) => {{
            let documents: i64 = registry_objects::table
                .filter(registry_objects::kind.eq(ObjectKind::DocumentEntry))
                .filter(registry_objects::patient_id.ne(&registration))
                .count()
                .get_result($conn)
                .await?;
            let known: i64 = patients::table
                .filter(patients::patient_id.ne(&registration))
                .count()
                .get_result($conn)
                .await?;
            (documents, known)
        }};
    }
    Ok(match db {
        Database::Postgres(pool) => counts!(&mut pool.get().await?),
        Database::Sqlite(pool) => counts!(&mut pool.get().await?),
    })
}

async fn holds_corpus(db: &Database, size: Size) -> Result<bool, BenchError> {
    let (documents, known) = corpus_counts(db).await?;
    Ok(documents == i64::from(size.documents()) && known == i64::from(size.patients))
}

/// PostgreSQL: the URL of the benchmark schema (created if missing) holding the corpus.
pub async fn ensure_postgres(
    base_url: &str,
    size: Size,
) -> Result<(String, LoadReport), BenchError> {
    let schema = if size == Size::DEFAULT {
        "bench_registry".to_owned()
    } else {
        format!("bench_registry_{}", size.documents())
    };
    let separator = if base_url.contains('?') { '&' } else { '?' };
    // Extra server settings for experiments, e.g. `-csynchronous_commit%3Doff`.
    let extra = std::env::var("BENCH_PG_OPTIONS")
        .map(|options| format!("%20{options}"))
        .unwrap_or_default();
    let url = format!("{base_url}{separator}options=-csearch_path%3D{schema}{extra}");
    let mut admin = AsyncPgConnection::establish(base_url).await?;
    admin
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .await?;
    let db = Database::connect(&url).await?;
    if holds_corpus(&db, size).await? {
        return Ok((
            url,
            LoadReport {
                reused: true,
                elapsed: Duration::ZERO,
            },
        ));
    }
    drop(db);
    eprintln!(
        "loading {} documents into PostgreSQL schema {schema}",
        size.documents()
    );
    let started = Instant::now();
    admin
        .batch_execute(&format!(
            "DROP SCHEMA {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await?;
    // Migrations create the tables and indexes exactly as the registry does.
    drop(Database::connect(&url).await?);

    let mut conn = loader_connection(&url).await?;
    for first in (0..size.patients).step_by(PATIENTS_PER_BATCH as usize) {
        let last = (first + PATIENTS_PER_BATCH).min(size.patients);
        insert_postgres(&mut conn, Batch::submission_sets(first..last)).await?;
    }
    let mut loaders = tokio::task::JoinSet::new();
    for loader in 0..POSTGRES_LOADERS {
        let url = url.clone();
        loaders.spawn(async move {
            let mut conn = loader_connection(&url).await?;
            for d in (loader..size.docs_per_patient).step_by(POSTGRES_LOADERS as usize) {
                for first in (0..size.patients).step_by(PATIENTS_PER_BATCH as usize) {
                    let last = (first + PATIENTS_PER_BATCH).min(size.patients);
                    insert_postgres(&mut conn, Batch::documents(first..last, d)).await?;
                }
                if loader == 0 {
                    eprintln!(
                        "  round {}/{} after {:.0?}",
                        d + 1,
                        size.docs_per_patient,
                        started.elapsed()
                    );
                }
            }
            Ok::<(), BenchError>(())
        });
    }
    while let Some(joined) = loaders.join_next().await {
        joined??;
    }
    conn.batch_execute("ANALYZE").await?;
    Ok((
        url,
        LoadReport {
            reused: false,
            elapsed: started.elapsed(),
        },
    ))
}

async fn loader_connection(url: &str) -> Result<AsyncPgConnection, BenchError> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    // Loading only: a crash loses the last batches, and the next run loads again.
    conn.batch_execute("SET synchronous_commit = off").await?;
    Ok(conn)
}

async fn insert_postgres(conn: &mut AsyncPgConnection, batch: Batch) -> Result<(), BenchError> {
    conn.transaction(async |conn| {
        for rows in batch.patients.chunks(ROWS_PER_STATEMENT) {
            diesel::insert_into(patients::table)
                .values(rows)
                .execute(conn)
                .await?;
        }
        for rows in batch.objects.chunks(ROWS_PER_STATEMENT) {
            diesel::insert_into(registry_objects::table)
                .values(rows)
                .execute(conn)
                .await?;
        }
        for rows in batch.codes.chunks(ROWS_PER_STATEMENT) {
            diesel::insert_into(object_codes::table)
                .values(rows)
                .execute(conn)
                .await?;
        }
        for rows in batch.authors.chunks(ROWS_PER_STATEMENT) {
            diesel::insert_into(object_authors::table)
                .values(rows)
                .execute(conn)
                .await?;
        }
        for rows in batch.reference_ids.chunks(ROWS_PER_STATEMENT) {
            diesel::insert_into(object_reference_ids::table)
                .values(rows)
                .execute(conn)
                .await?;
        }
        for rows in batch.associations.chunks(ROWS_PER_STATEMENT) {
            diesel::insert_into(associations::table)
                .values(rows)
                .execute(conn)
                .await?;
        }
        Ok::<(), diesel::result::Error>(())
    })
    .await?;
    Ok(())
}

/// SQLite: the path of the benchmark file under the target folder holding the corpus.
pub async fn ensure_sqlite(size: Size) -> Result<(PathBuf, LoadReport), BenchError> {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bench_registry_{}.db", size.documents()));
    let url = format!("sqlite://{}", path.display());
    let db = Database::connect(&url).await?;
    let reused = holds_corpus(&db, size).await?;
    drop(db);
    if reused {
        return Ok((
            path,
            LoadReport {
                reused: true,
                elapsed: Duration::ZERO,
            },
        ));
    }
    eprintln!(
        "loading {} documents into SQLite {}",
        size.documents(),
        path.display()
    );
    let started = Instant::now();
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BenchError::Io(file, e)),
        }
    }
    drop(Database::connect(&url).await?);
    let load_path = path.clone();
    tokio::task::spawn_blocking(move || load_sqlite(&load_path, size, started)).await??;
    Ok((
        path,
        LoadReport {
            reused: false,
            elapsed: started.elapsed(),
        },
    ))
}

fn load_sqlite(path: &Path, size: Size, started: Instant) -> Result<(), BenchError> {
    let path_text = path.display().to_string();
    let mut conn = SqliteConnection::establish(&path_text)?;
    // Loading only: the file is rebuilt from scratch if a load is interrupted.
    diesel::connection::SimpleConnection::batch_execute(
        &mut conn,
        "PRAGMA synchronous = OFF; PRAGMA cache_size = -1048576; PRAGMA temp_store = MEMORY;",
    )?;
    for first in (0..size.patients).step_by(PATIENTS_PER_BATCH as usize) {
        let last = (first + PATIENTS_PER_BATCH).min(size.patients);
        insert_sqlite(&mut conn, &Batch::submission_sets(first..last))?;
    }
    let patients_per_batch = PATIENTS_PER_BATCH * 10;
    for d in 0..size.docs_per_patient {
        for first in (0..size.patients).step_by(patients_per_batch as usize) {
            let last = (first + patients_per_batch).min(size.patients);
            insert_sqlite(&mut conn, &Batch::documents(first..last, d))?;
        }
        if d % 10 == 9 {
            eprintln!(
                "  round {}/{} after {:.0?}",
                d + 1,
                size.docs_per_patient,
                started.elapsed()
            );
        }
    }
    diesel::connection::SimpleConnection::batch_execute(&mut conn, "ANALYZE")?;
    Ok(())
}

fn insert_sqlite(conn: &mut SqliteConnection, batch: &Batch) -> Result<(), BenchError> {
    conn.immediate_transaction(|conn| {
        diesel::RunQueryDsl::execute(
            diesel::insert_into(patients::table).values(&batch.patients),
            conn,
        )?;
        diesel::RunQueryDsl::execute(
            diesel::insert_into(registry_objects::table).values(&batch.objects),
            conn,
        )?;
        diesel::RunQueryDsl::execute(
            diesel::insert_into(object_codes::table).values(&batch.codes),
            conn,
        )?;
        diesel::RunQueryDsl::execute(
            diesel::insert_into(object_authors::table).values(&batch.authors),
            conn,
        )?;
        diesel::RunQueryDsl::execute(
            diesel::insert_into(object_reference_ids::table).values(&batch.reference_ids),
            conn,
        )?;
        diesel::RunQueryDsl::execute(
            diesel::insert_into(associations::table).values(&batch.associations),
            conn,
        )?;
        Ok::<(), diesel::result::Error>(())
    })?;
    Ok(())
}

/// Removes everything the registration scenario wrote (before and after it runs).
pub async fn remove_registrations(db: &Database) -> Result<(), BenchError> {
    let patient = corpus::registration_patient_id();
    macro_rules! remove {
        ($conn:expr) => {{
            let conn = $conn;
            let sets = registry_objects::table
                .filter(registry_objects::patient_id.eq(&patient))
                .select(registry_objects::entry_uuid);
            diesel::delete(associations::table.filter(associations::source_uuid.eq_any(sets)))
                .execute(conn)
                .await?;
            diesel::delete(
                registry_objects::table.filter(registry_objects::patient_id.eq(&patient)),
            )
            .execute(conn)
            .await?;
        }};
    }
    match db {
        Database::Postgres(pool) => remove!(&mut pool.get().await?),
        Database::Sqlite(pool) => remove!(&mut pool.get().await?),
    }
    db.upsert_patient(&patient).await?;
    Ok(())
}

/// Average stored fragment length of the corpus DocumentEntries (a sample of patient 0).
pub fn fragment_length() -> usize {
    let (rows, _) = corpus::corpus_document(0, 0);
    rows.object.fragment.len()
}
