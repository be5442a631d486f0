//! Filling a benchmark database with the corpus, fast, outside the measured part: multi-row
//! INSERTs in large transactions on two PostgreSQL connections, and one bulk transaction per
//! chunk on a sync SQLite connection, into the registry's own tables with their secondary
//! indexes (and on PostgreSQL keys) dropped and created again once the rows are in.
//!
//! A loaded corpus is a cache: a PostgreSQL schema or a SQLite file named after the corpus size
//! and a digest of the migrations and of `corpus.rs` ([`corpus_name`]), reused by the next run
//! while both are unchanged; loading a new one drops the others.
//!
//! Rows are written in rounds, document `d` of every patient in round `d`, the order in which
//! a registry receives documents of many patients over time: one patient's entries end up on
//! as many table pages as it has documents, as in a registry that has been in service a while.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::Text;
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

impl LoadReport {
    fn reused() -> LoadReport {
        LoadReport {
            reused: true,
            elapsed: Duration::ZERO,
        }
    }
}

/// Prefix of the PostgreSQL schemas and SQLite files holding a corpus.
const CORPUS_PREFIX: &str = "bench_registry_";

/// Key of a stored corpus: the corpus size, and a digest of what decides its rows — the
/// backend's migrations (names and SQL) and the corpus generator's source. A stored corpus is
/// reused only under the same key, so a schema or corpus change loads afresh.
fn corpus_name(backend: &str, size: Size) -> Result<String, BenchError> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut migrations = Vec::new();
    for entry in std::fs::read_dir(&folder).map_err(|e| BenchError::Io(folder.clone(), e))? {
        let entry = entry.map_err(|e| BenchError::Io(folder.clone(), e))?;
        migrations.push(entry.path());
    }
    migrations.sort();
    // FNV-1a, 64 bits: a change detector, not a security measure.
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            digest = (digest ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for migration in &migrations {
        feed(migration.display().to_string().as_bytes());
        let up = migration.join("up.sql");
        feed(&std::fs::read(&up).map_err(|e| BenchError::Io(up, e))?);
    }
    feed(include_str!("corpus.rs").as_bytes());
    Ok(format!(
        "{CORPUS_PREFIX}{}x{}_{:08x}",
        size.patients,
        size.docs_per_patient,
        digest >> 32
    ))
}

/// Counts the corpus DocumentEntries and patients (the benchmark's registrations excluded).
async fn corpus_counts(db: &Database) -> Result<(i64, i64), BenchError> {
    let (first, end) = corpus::REGISTRATION_UNIQUE_IDS;
    macro_rules! counts {
        ($conn:expr) => {{
            let documents: i64 = registry_objects::table
                .filter(registry_objects::kind.eq(ObjectKind::DocumentEntry))
                .filter(
                    registry_objects::unique_id
                        .lt(first)
                        .or(registry_objects::unique_id.ge(end)),
                )
                .count()
                .get_result($conn)
                .await?;
            let known: i64 = patients::table.count().get_result($conn).await?;
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

/// One text column of a catalogue query.
#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// A DDL statement read from the catalogue, and the one that undoes it.
#[derive(QueryableByName)]
struct Ddl {
    #[diesel(sql_type = Text)]
    create: String,
    #[diesel(sql_type = Text)]
    drop: String,
}

/// PostgreSQL: makes sure database `name` of `url`'s server exists (created through the
/// `postgres` maintenance database).
async fn ensure_postgres_database(url: &str) -> Result<(), BenchError> {
    let (server, rest) = url
        .rsplit_once('/')
        .ok_or_else(|| BenchError::Usage(format!("no database in {url}")))?;
    let (name, query) = rest.split_once('?').unwrap_or((rest, ""));
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    let mut admin = AsyncPgConnection::establish(&format!("{server}/postgres{query}")).await?;
    let existing: Vec<Name> =
        diesel::sql_query("SELECT datname AS name FROM pg_database WHERE datname = $1")
            .bind::<Text, _>(name)
            .load(&mut admin)
            .await?;
    if existing.is_empty() {
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await?;
    }
    Ok(())
}

/// The registry's secondary indexes, then its primary keys, then its foreign keys in `schema`,
/// each as `CREATE`/`ADD` statement and `DROP` statement, read from the catalogue after the
/// migrations ran (diesel's migration table left out).
async fn postgres_schema_ddl(
    conn: &mut AsyncPgConnection,
    schema: &str,
) -> Result<Vec<Ddl>, BenchError> {
    let indexes: Vec<Ddl> = diesel::sql_query(
        "SELECT pg_get_indexdef(i.indexrelid) AS create, \
                format('DROP INDEX %I.%I', n.nspname, c.relname) AS drop \
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND t.relname <> '__diesel_schema_migrations' \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) \
         ORDER BY c.relname",
    )
    .bind::<Text, _>(schema)
    .load(conn)
    .await?;
    let constraints: Vec<Ddl> = diesel::sql_query(
        "SELECT format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', n.nspname, t.relname, \
                       k.conname, pg_get_constraintdef(k.oid)) AS create, \
                format('ALTER TABLE %I.%I DROP CONSTRAINT %I', n.nspname, t.relname, \
                       k.conname) AS drop \
         FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = $1 AND t.relname <> '__diesel_schema_migrations' \
           AND k.contype IN ('p', 'u', 'f') \
         ORDER BY k.contype = 'f', k.conname",
    )
    .bind::<Text, _>(schema)
    .load(conn)
    .await?;
    Ok(indexes.into_iter().chain(constraints).collect())
}

fn statements(ddl: &[Ddl]) -> Vec<&str> {
    let mut all: Vec<&str> = ddl.iter().map(|d| d.create.as_str()).collect();
    all.sort_unstable();
    all
}

/// PostgreSQL: the URL of the benchmark schema holding the corpus (loaded if missing).
///
/// Loading writes the rows [`corpus`] builds — the rows `insert_submission` writes for the
/// corpus's submissions — with multi-row INSERTs on two connections, into the tables the
/// registry's migrations created, with their indexes, primary and foreign keys dropped; they
/// are then created again from the very statements the catalogue gave before (checked
/// afterwards against the catalogue), and the tables analysed.
pub async fn ensure_postgres(
    base_url: &str,
    size: Size,
) -> Result<(String, LoadReport), BenchError> {
    ensure_postgres_database(base_url).await?;
    let schema = corpus_name("postgres", size)?;
    let separator = if base_url.contains('?') { '&' } else { '?' };
    // Extra server settings for experiments, e.g. `-csynchronous_commit%3Doff`.
    let extra = std::env::var("BENCH_PG_OPTIONS")
        .map(|options| format!("%20{options}"))
        .unwrap_or_default();
    let url = format!("{base_url}{separator}options=-csearch_path%3D{schema}{extra}");
    let mut admin = AsyncPgConnection::establish(base_url).await?;
    let present: Vec<Name> =
        diesel::sql_query("SELECT nspname AS name FROM pg_namespace WHERE nspname = $1")
            .bind::<Text, _>(&schema)
            .load(&mut admin)
            .await?;
    if !present.is_empty() && holds_corpus(&Database::connect(&url).await?, size).await? {
        return Ok((url, LoadReport::reused()));
    }
    eprintln!(
        "loading {} documents into PostgreSQL schema {schema}",
        size.documents()
    );
    let started = Instant::now();
    // Corpora of other sizes or schema versions: dropped, they are only a cache.
    let stale: Vec<Name> = diesel::sql_query(
        "SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)",
    )
    .bind::<Text, _>(CORPUS_PREFIX)
    .load(&mut admin)
    .await?;
    for old in stale {
        admin
            .batch_execute(&format!("DROP SCHEMA \"{}\" CASCADE", old.name))
            .await?;
    }
    admin
        .batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
        .await?;
    // Migrations create the tables and indexes exactly as the registry does.
    drop(Database::connect(&url).await?);
    let ddl = postgres_schema_ddl(&mut admin, &schema).await?;
    for statement in ddl.iter().rev() {
        admin.batch_execute(&statement.drop).await?;
    }

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
                if loader == 0 && d.is_multiple_of(10) {
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
    eprintln!("  rows written after {:.0?}", started.elapsed());
    conn.batch_execute("SET maintenance_work_mem = '512MB'")
        .await?;
    for statement in &ddl {
        conn.batch_execute(&statement.create).await?;
    }
    let rebuilt = postgres_schema_ddl(&mut admin, &schema).await?;
    if statements(&rebuilt) != statements(&ddl) {
        return Err(BenchError::Answer(format!(
            "indexes and keys after loading differ from the migrations': {:?} instead of {:?}",
            statements(&rebuilt),
            statements(&ddl)
        )));
    }
    conn.batch_execute("VACUUM ANALYZE").await?;
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

/// SQLite: the path of the benchmark file under the target folder holding the corpus (loaded
/// if missing).
///
/// Loading writes the rows [`corpus`] builds into the tables the registry's migrations
/// created, on one connection without journal (the file is rebuilt if a load stops), with the
/// secondary indexes dropped and created again afterwards from the statements `sqlite_master`
/// held (checked afterwards); the primary keys stay. The rows are built on a second thread.
/// The file is left in WAL mode, as the registry opens it.
pub async fn ensure_sqlite(size: Size) -> Result<(PathBuf, LoadReport), BenchError> {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let name = corpus_name("sqlite", size)?;
    let path = folder.join(format!("{name}.db"));
    let url = format!("sqlite://{}", path.display());
    if path.exists() && holds_corpus(&Database::connect(&url).await?, size).await? {
        return Ok((path, LoadReport::reused()));
    }
    eprintln!(
        "loading {} documents into SQLite {}",
        size.documents(),
        path.display()
    );
    let started = Instant::now();
    // This file's leftovers and corpora of other sizes or schema versions: only a cache.
    for entry in std::fs::read_dir(folder).map_err(|e| BenchError::Io(folder.to_owned(), e))? {
        let file = entry
            .map_err(|e| BenchError::Io(folder.to_owned(), e))?
            .path();
        let stale = file
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(CORPUS_PREFIX));
        if stale {
            std::fs::remove_file(&file).map_err(|e| BenchError::Io(file.clone(), e))?;
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

fn sqlite_indexes(conn: &mut SqliteConnection) -> Result<Vec<Ddl>, BenchError> {
    Ok(diesel::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT sql AS \"create\", 'DROP INDEX \"' || name || '\"' AS \"drop\" \
             FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
        ),
        conn,
    )?)
}

fn load_sqlite(path: &Path, size: Size, started: Instant) -> Result<(), BenchError> {
    use diesel::connection::SimpleConnection;
    let path_text = path.display().to_string();
    let mut conn = SqliteConnection::establish(&path_text)?;
    // Loading only: the file is rebuilt from scratch if a load is interrupted.
    conn.batch_execute(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -2097152; \
         PRAGMA temp_store = MEMORY;",
    )?;
    let indexes = sqlite_indexes(&mut conn)?;
    for index in &indexes {
        conn.batch_execute(&index.drop)?;
    }
    let patients_per_batch = PATIENTS_PER_BATCH * 10;
    let (sender, batches) = std::sync::mpsc::sync_channel::<Batch>(2);
    let builder = std::thread::spawn(move || {
        for first in (0..size.patients).step_by(PATIENTS_PER_BATCH as usize) {
            let last = (first + PATIENTS_PER_BATCH).min(size.patients);
            if sender.send(Batch::submission_sets(first..last)).is_err() {
                return;
            }
        }
        for d in 0..size.docs_per_patient {
            for first in (0..size.patients).step_by(patients_per_batch as usize) {
                let last = (first + patients_per_batch).min(size.patients);
                if sender.send(Batch::documents(first..last, d)).is_err() {
                    return;
                }
            }
        }
    });
    let mut written = 0u32;
    for batch in batches {
        insert_sqlite(&mut conn, &batch)?;
        written += u32::try_from(batch.reference_ids.len()).unwrap_or(0);
        if written.is_multiple_of((size.documents() / 10).max(1)) && !batch.reference_ids.is_empty()
        {
            eprintln!(
                "  {written}/{} documents after {:.0?}",
                size.documents(),
                started.elapsed()
            );
        }
    }
    builder
        .join()
        .map_err(|_| BenchError::Answer("the corpus builder thread panicked".to_owned()))?;
    for index in &indexes {
        conn.batch_execute(&index.create)?;
    }
    let rebuilt = sqlite_indexes(&mut conn)?;
    if statements(&rebuilt) != statements(&indexes) {
        return Err(BenchError::Answer(
            "indexes after loading differ from the migrations'".to_owned(),
        ));
    }
    conn.batch_execute("ANALYZE; PRAGMA journal_mode = WAL;")?;
    Ok(())
}

fn insert_sqlite(conn: &mut SqliteConnection, batch: &Batch) -> Result<(), BenchError> {
    // Statements of at most ROWS_PER_STATEMENT rows stay under SQLite's bound on parameters.
    macro_rules! insert {
        ($conn:expr, $table:expr, $rows:expr) => {
            for rows in $rows.chunks(ROWS_PER_STATEMENT) {
                diesel::RunQueryDsl::execute(diesel::insert_into($table).values(rows), $conn)?;
            }
        };
    }
    conn.immediate_transaction(|conn| {
        insert!(conn, patients::table, batch.patients);
        insert!(conn, registry_objects::table, batch.objects);
        insert!(conn, object_codes::table, batch.codes);
        insert!(conn, object_authors::table, batch.authors);
        insert!(conn, object_reference_ids::table, batch.reference_ids);
        insert!(conn, associations::table, batch.associations);
        Ok::<(), diesel::result::Error>(())
    })?;
    Ok(())
}

/// Removes everything the registration scenario wrote (before and after it runs): the objects
/// whose uniqueId is a registration's and their HasMember Associations (codes, authors and
/// reference ids go with their objects).
pub async fn remove_registrations(db: &Database) -> Result<(), BenchError> {
    let (first, end) = corpus::REGISTRATION_UNIQUE_IDS;
    macro_rules! remove {
        ($conn:expr) => {{
            let conn = $conn;
            let registered = registry_objects::unique_id
                .ge(first)
                .and(registry_objects::unique_id.lt(end));
            let sets = registry_objects::table
                .filter(registered)
                .select(registry_objects::entry_uuid);
            diesel::delete(associations::table.filter(associations::source_uuid.eq_any(sets)))
                .execute(conn)
                .await?;
            diesel::delete(registry_objects::table.filter(registered))
                .execute(conn)
                .await?;
        }};
    }
    match db {
        Database::Postgres(pool) => remove!(&mut pool.get().await?),
        Database::Sqlite(pool) => remove!(&mut pool.get().await?),
    }
    Ok(())
}

/// Average stored fragment length of the corpus DocumentEntries (a sample of patient 0).
pub fn fragment_length() -> usize {
    let (rows, _) = corpus::corpus_document(0, 0);
    rows.object.fragment.len()
}
