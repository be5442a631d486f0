//! SQLite: each operation runs whole on one thread that may block (one thread hop per
//! operation, not one per statement), and every identity change goes through one writer thread
//! that commits the changes queued meanwhile together (group commit).
//!
//! The statements of `ops::sqlite` run [`Inline`]: on the thread that runs the operation. Reads
//! take a pooled connection onto tokio's blocking pool; writes are queued to the writer, which
//! takes whatever is queued (at most [`MAX_GROUP`]), runs each in a savepoint of one transaction,
//! commits once (one fsync under `synchronous = FULL`) and only then answers each: a write
//! that fails rolls back its savepoint alone and gets its own error, the others are stored. A
//! failed commit stores none of them and answers each with the error.
//!
//! The writer keeps the candidate records it has read for matching ([`PreparedCache`]); a
//! write that fails, a failed commit or a panic clears it, since what it read may be gone. It
//! numbers its groups and notes the blocking keys each wrote
//! ([`WrittenKeys`](super::ahead::WrittenKeys)): a feed's
//! candidates can be read and assessed on a reader connection before it is queued
//! ([`Sqlite::match_ahead`], on the other core), and the writer takes them when none of the
//! feed's keys was written since the last group that reader saw.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use diesel::SqliteConnection;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::sync_connection_wrapper::{SpawnBlocking, SyncConnectionWrapper};
use diesel_async::{AsyncConnection, TransactionManager};
use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use super::ahead::{CommittedGroup, MatchedAhead};
use super::ops::{FeedInput, PreparedCache, WriterMemory};
use super::{BoxError, SQLITE, StorageError};
use crate::matching::Matcher;

/// Writes waiting for the writer beyond which callers wait to queue theirs.
const QUEUE_DEPTH: usize = 1024;
/// The most writes one transaction commits.
pub(super) const MAX_GROUP: usize = 256;

/// Runs a statement on the calling thread: the whole operation is already on a thread that may
/// block (the writer, or tokio's blocking pool).
pub struct Inline;

impl SpawnBlocking for Inline {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> BoxFuture<'a, Result<R, BoxError>>
    where
        R: Send + 'static,
    {
        Box::pin(std::future::ready(Ok(task())))
    }

    fn get_runtime() -> Self {
        Inline
    }
}

/// Diesel's sync `SqliteConnection` behind the async interface `ops` is written against, its
/// statements run [`Inline`].
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection, Inline>;

/// Drives an `ops::sqlite` operation to its end on this thread (its statements never wait on
/// anything but SQLite itself).
pub(super) fn run<F: Future>(operation: F) -> F::Output {
    futures::executor::block_on(operation)
}

type Manager = <SqliteConn as AsyncConnection>::TransactionManager;

/// The SQLite MPI: pooled connections for reads, one writer thread for identity changes.
#[derive(Clone)]
pub struct Sqlite {
    /// `None` for an in-memory database, whose only connection is the writer's.
    readers: Option<Pool<SqliteConn>>,
    /// Reader connections of their own for [`match_ahead`](Self::match_ahead), so a PIX or
    /// PDQ query never waits behind a feed's matching (`None` in memory).
    matchers: Option<Pool<SqliteConn>>,
    writes: mpsc::Sender<Box<dyn Job>>,
    /// The writer's last group whose commit has ended.
    committed: CommittedGroup,
    /// The writer's prepared candidate records (readers look them up).
    prepared: PreparedCache,
}

impl Sqlite {
    /// Starts the writer thread on `writer` (migrated), reads served by `readers`, feeds
    /// matched ahead on `matchers`.
    pub(super) fn start(
        writer: SqliteConn,
        readers: Option<Pool<SqliteConn>>,
        matchers: Option<Pool<SqliteConn>>,
    ) -> Result<Self, StorageError> {
        let (writes, queue) = mpsc::channel(QUEUE_DEPTH);
        let memory = WriterMemory::default();
        let committed = memory.written_keys.committed();
        let prepared = memory.prepared.clone();
        std::thread::Builder::new()
            .name("mpi-sqlite-writer".to_owned())
            .spawn(move || serve_writes(writer, memory, queue))
            .map_err(|e| StorageError::pool(SQLITE, e))?;
        Ok(Sqlite {
            readers,
            matchers,
            writes,
            committed,
            prepared,
        })
    }

    /// Reads and assesses the candidates of `input`'s record on a matching connection (the
    /// writer's work taken off its thread); `None` without them (in memory).
    pub(super) async fn match_ahead(
        &self,
        input: Arc<FeedInput>,
        matcher: Arc<Matcher>,
        max_candidates: i64,
    ) -> Result<Option<MatchedAhead>, StorageError> {
        let Some(matchers) = &self.matchers else {
            return Ok(None);
        };
        let committed = self.committed.clone();
        let prepared = self.prepared.clone();
        on_pooled(matchers, move |conn| {
            // read before the candidates: every group up to it is in what they read
            let as_of = committed.get();
            let (decided, read) = run(super::ops::match_ahead(
                conn,
                &input,
                &matcher,
                max_candidates,
                &prepared,
            ))?;
            let ahead = MatchedAhead {
                as_of,
                decided,
                read,
            };
            Ok(Some(ahead))
        })
        .await
    }

    /// Closes the matching connections' pool: every match ahead fails from now on.
    #[cfg(test)]
    pub(super) fn close_matchers(&self) {
        if let Some(matchers) = &self.matchers {
            matchers.close();
        }
    }

    /// Runs the read `operation` on a pooled connection on tokio's blocking pool.
    pub(super) async fn read<R, F>(&self, operation: F) -> Result<R, StorageError>
    where
        F: FnOnce(&mut SqliteConn) -> Result<R, StorageError> + Send + 'static,
        R: Send + 'static,
    {
        match &self.readers {
            Some(pool) => on_pooled(pool, operation).await,
            None => self.write(operation).await,
        }
    }

    /// Queues the write `operation` (itself a transaction: a savepoint of the group's) and
    /// answers once the group holding it is committed.
    pub(super) async fn write<R, F>(&self, operation: F) -> Result<R, StorageError>
    where
        F: FnOnce(&mut SqliteConn) -> Result<R, StorageError> + Send + 'static,
        R: Send + 'static,
    {
        self.write_with_memory(move |conn, _| operation(conn)).await
    }

    /// [`write`](Self::write) of an `operation` that also uses the writer's [`WriterMemory`].
    pub(super) async fn write_with_memory<R, F>(&self, operation: F) -> Result<R, StorageError>
    where
        F: FnOnce(&mut SqliteConn, &mut WriterMemory) -> Result<R, StorageError> + Send + 'static,
        R: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Write {
            operation: Some(operation),
            result: None,
            reply,
        });
        self.writes
            .send(job)
            .await
            .map_err(|_| StorageError::WorkerStopped)?;
        answer.await.map_err(|_| StorageError::WorkerStopped)?
    }
}

/// Runs `operation` on a connection of `pool` on tokio's blocking pool.
async fn on_pooled<R, F>(pool: &Pool<SqliteConn>, operation: F) -> Result<R, StorageError>
where
    F: FnOnce(&mut SqliteConn) -> Result<R, StorageError> + Send + 'static,
    R: Send + 'static,
{
    let mut conn = pool
        .get()
        .await
        .map_err(|e| StorageError::pool(SQLITE, e))?;
    tokio::task::spawn_blocking(move || operation(&mut conn))
        .await
        .map_err(|_| StorageError::WorkerStopped)?
}

/// A queued write, type-erased for the writer.
trait Job: Send {
    /// Runs the operation, keeping its result; a failed one (rolled back) clears the prepared
    /// records of `memory`.
    fn run(&mut self, conn: &mut SqliteConn, memory: &mut WriterMemory);
    /// Answers the caller once the group's outcome is known.
    fn answer(self: Box<Self>, committed: Result<(), Arc<diesel::result::Error>>);
}

struct Write<R, F> {
    operation: Option<F>,
    result: Option<Result<R, StorageError>>,
    reply: oneshot::Sender<Result<R, StorageError>>,
}

impl<R, F> Job for Write<R, F>
where
    F: FnOnce(&mut SqliteConn, &mut WriterMemory) -> Result<R, StorageError> + Send,
    R: Send,
{
    fn run(&mut self, conn: &mut SqliteConn, memory: &mut WriterMemory) {
        if let Some(operation) = self.operation.take() {
            let result = operation(conn, memory);
            if result.is_err() {
                memory.prepared.clear();
            }
            self.result = Some(result);
        }
    }

    fn answer(self: Box<Self>, committed: Result<(), Arc<diesel::result::Error>>) {
        let result = match committed {
            Ok(()) => self.result,
            Err(source) => Some(Err(StorageError::Commit { source })),
        };
        // No result (never run) drops the reply: the caller gets `WorkerStopped`. A caller that
        // went away needs no answer.
        if let Some(result) = result {
            let _ = self.reply.send(result);
        }
    }
}

/// The writer thread: takes the queued writes, [`commit_group`]s them, until every sender is gone.
/// A write that panics (a bug) loses its group, not the writer: the group is rolled back and its
/// callers get [`StorageError::WorkerStopped`]; the writes queued after it are served.
fn serve_writes(
    mut conn: SqliteConn,
    mut memory: WriterMemory,
    mut queue: mpsc::Receiver<Box<dyn Job>>,
) {
    while let Some(first) = queue.blocking_recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let size = group.len();
        memory.written_keys.begin_group();
        let served = std::panic::catch_unwind(AssertUnwindSafe(|| {
            commit_group(&mut conn, &mut memory, group)
        }));
        if served.is_err() {
            memory.prepared.clear();
            tracing::error!(
                writes = size,
                "an MPI write panicked: its group is rolled back, none of it is stored"
            );
            roll_back_all(&mut conn);
            memory.written_keys.end_group();
        }
    }
}

/// Rolls back every open transaction level of `conn` (after a write was cut short).
fn roll_back_all(conn: &mut SqliteConn) {
    while let Ok(Some(_)) = Manager::transaction_manager_status_mut(conn).transaction_depth() {
        if run(Manager::rollback_transaction(conn)).is_err() {
            break;
        }
    }
}

/// Runs `group` in one transaction, each write in its own savepoint, commits, ends the group
/// in `memory`, then answers. A single write (or a transaction that cannot begin) runs as its
/// own transaction.
fn commit_group(conn: &mut SqliteConn, memory: &mut WriterMemory, mut group: Vec<Box<dyn Job>>) {
    if group.len() == 1 || run(Manager::begin_transaction(conn)).is_err() {
        for job in &mut group {
            job.run(conn, memory);
        }
        memory.written_keys.end_group();
        for job in group {
            job.answer(Ok(()));
        }
        return;
    }
    for job in &mut group {
        job.run(conn, memory);
    }
    let committed = run(Manager::commit_transaction(conn)).map_err(Arc::new);
    memory.written_keys.end_group();
    if committed.is_err() {
        memory.prepared.clear();
        let _ = run(Manager::rollback_transaction(conn));
        tracing::error!(
            writes = group.len(),
            "SQLite group commit failed, none of its writes is stored"
        );
    }
    for job in group {
        job.answer(committed.clone());
    }
}

#[cfg(test)]
mod tests {
    use diesel_async::RunQueryDsl;

    use super::*;

    /// A write that panics gets `WorkerStopped` and stores nothing; the writer serves the next.
    #[tokio::test]
    async fn a_write_that_panics_fails_alone_and_the_writer_goes_on() {
        let conn = run(SqliteConn::establish(":memory:")).expect("in-memory SQLite");
        let db = Sqlite::start(conn, None, None).expect("writer starts");
        db.write(|conn| {
            run(diesel::sql_query("CREATE TABLE t (v INTEGER)").execute(conn))?;
            Ok(())
        })
        .await
        .expect("table made");
        let panicked = db
            .write(|conn| -> Result<(), StorageError> {
                run(conn.transaction(async |conn| {
                    diesel::sql_query("INSERT INTO t VALUES (1)")
                        .execute(conn)
                        .await?;
                    panic!("a bug in an operation, mid-transaction")
                }))
            })
            .await;
        assert!(matches!(panicked, Err(StorageError::WorkerStopped)));
        let rows = db
            .write(|conn| {
                run(diesel::sql_query("INSERT INTO t VALUES (2)").execute(conn))?;
                Ok(run(diesel::sql_query("DELETE FROM t").execute(conn))?)
            })
            .await
            .expect("the writer goes on");
        assert_eq!(rows, 1, "only the row after the panic was stored");
    }
}
