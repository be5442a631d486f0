//! SQLite group commit: every ITI-42 / ITI-57 registration goes through one writer, which takes
//! the registrations queued meanwhile (at most [`MAX_GROUP`]), runs each in a savepoint of one
//! transaction, commits once (one WAL fsync under `synchronous = FULL`) and only then answers
//! each caller. A registration that fails rolls back its savepoint alone and gets its own error;
//! the others of its group are stored. A failed commit stores none of the group and answers
//! each with the error.
//!
//! A lone registration runs as a transaction of its own, exactly as without the writer. The
//! writer is a thread of its own with a current-thread runtime, so it outlives whichever runtime
//! opened the database; its SQLite calls run in place on that thread, not on the blocking pool
//! ([`super::sqlite_calls`]). It borrows a pooled connection per group (an in-memory database has
//! one connection, shared with reads) from the pool each registration brings along, so it
//! holds no connection between groups: dropping the last [`SqlitePool`] closes the file's
//! connections at once. It stops when every [`SqlitePool`] clone is dropped.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use diesel_async::pooled_connection::deadpool::{Object, Pool, PoolError};
use diesel_async::{AsyncConnection, TransactionManager};
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use super::error::StorageError;
use super::sqlite_calls::run_calls_in_place;
use super::{SQLITE, SqliteConn};

/// Registrations waiting for the writer beyond which callers wait to queue theirs.
const QUEUE_DEPTH: usize = 1024;
/// The most registrations one transaction commits.
const MAX_GROUP: usize = 64;
/// The writer thread's name.
const WRITER_THREAD: &str = "registry-sqlite-writer";

type Manager = <SqliteConn as AsyncConnection>::TransactionManager;

/// A registration for the writer: opens its own (nested, so savepoint) transaction on the
/// connection it is given.
type Registration =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConn) -> BoxFuture<'c, Result<(), StorageError>> + Send>;

/// The SQLite connection pool, and the writer registrations are queued to.
#[derive(Clone)]
pub struct SqlitePool {
    pool: Pool<SqliteConn>,
    registrations: mpsc::Sender<Queued>,
}

impl std::fmt::Debug for SqlitePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqlitePool")
    }
}

impl SqlitePool {
    /// Starts the writer thread over `pool`.
    pub(super) fn start(pool: Pool<SqliteConn>) -> Result<Self, StorageError> {
        let (registrations, queue) = mpsc::channel(QUEUE_DEPTH);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| StorageError::pool(SQLITE, e))?;
        std::thread::Builder::new()
            .name(WRITER_THREAD.to_owned())
            .spawn(move || {
                run_calls_in_place();
                runtime.block_on(serve(queue));
            })
            .map_err(|e| StorageError::pool(SQLITE, e))?;
        Ok(SqlitePool {
            pool,
            registrations,
        })
    }

    /// A pooled connection (reads, and writes other than registrations).
    pub async fn get(&self) -> Result<Object<SqliteConn>, PoolError> {
        self.pool.get().await
    }

    /// Queues `registration` and answers once the group holding it is committed (or with its
    /// own error, having stored nothing).
    pub(super) async fn register<F>(&self, registration: F) -> Result<(), StorageError>
    where
        F: for<'c> FnOnce(&'c mut SqliteConn) -> BoxFuture<'c, Result<(), StorageError>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.registrations
            .send(Queued {
                registration: Box::new(registration),
                reply,
                pool: self.pool.clone(),
            })
            .await
            .map_err(|_| StorageError::WriterStopped)?;
        answer.await.map_err(|_| StorageError::WriterStopped)?
    }
}

/// A registration waiting in the queue, with where its answer goes and the pool of the
/// database it is for.
struct Queued {
    registration: Registration,
    reply: oneshot::Sender<Result<(), StorageError>>,
    pool: Pool<SqliteConn>,
}

/// A registration that has run inside its group's transaction, waiting for the commit.
struct Ran {
    outcome: Result<(), StorageError>,
    reply: oneshot::Sender<Result<(), StorageError>>,
}

/// The writer: takes the queued registrations, commits them in groups, until every sender is
/// gone.
async fn serve(mut queue: mpsc::Receiver<Queued>) {
    while let Some(first) = queue.recv().await {
        let pool = first.pool.clone();
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let connection = pool.get().await;
        drop(pool);
        match connection {
            Ok(mut conn) => commit_group(&mut conn, group).await,
            Err(e) => {
                let error = e.to_string();
                for queued in group {
                    let _ = queued
                        .reply
                        .send(Err(StorageError::pool(SQLITE, error.clone())));
                }
            }
        }
    }
}

/// Runs `group` in one transaction, each registration in its own savepoint, commits, then
/// answers. A lone registration (or a group whose transaction cannot begin) runs each as its own
/// transaction. A registration that panics (a bug) rolls back its group; its callers get
/// [`StorageError::WriterStopped`] and the writer serves the next group.
async fn commit_group(conn: &mut SqliteConn, group: Vec<Queued>) {
    if group.len() == 1 || Manager::begin_transaction(conn).await.is_err() {
        for queued in group {
            let outcome = AssertUnwindSafe((queued.registration)(conn))
                .catch_unwind()
                .await;
            match outcome {
                Ok(outcome) => {
                    let _ = queued.reply.send(outcome);
                }
                Err(_) => {
                    tracing::error!("an ITI-42 registration panicked; nothing of it is stored");
                    roll_back_all(conn).await;
                }
            }
        }
        return;
    }
    let size = group.len();
    let ran = AssertUnwindSafe(run_all(conn, group)).catch_unwind().await;
    let Ok(ran) = ran else {
        tracing::error!(
            registrations = size,
            "an ITI-42 registration panicked: its group is rolled back, none of it is stored"
        );
        roll_back_all(conn).await;
        return;
    };
    let committed = Manager::commit_transaction(conn).await.map_err(Arc::new);
    if committed.is_err() {
        roll_back_all(conn).await;
        tracing::error!(
            registrations = size,
            "SQLite group commit failed, none of its registrations is stored"
        );
    }
    for registration in ran {
        let answer = match &committed {
            Ok(()) => registration.outcome,
            Err(source) => Err(StorageError::Commit {
                source: Arc::clone(source),
            }),
        };
        let _ = registration.reply.send(answer);
    }
}

/// Runs every registration of a group inside the open transaction (each opens a savepoint).
async fn run_all(conn: &mut SqliteConn, group: Vec<Queued>) -> Vec<Ran> {
    let mut ran = Vec::with_capacity(group.len());
    for queued in group {
        let outcome = (queued.registration)(conn).await;
        ran.push(Ran {
            outcome,
            reply: queued.reply,
        });
    }
    ran
}

/// Rolls back every open transaction level of `conn` (after a registration was cut short).
async fn roll_back_all(conn: &mut SqliteConn) {
    while let Ok(Some(_)) = Manager::transaction_manager_status_mut(conn).transaction_depth() {
        if Manager::rollback_transaction(conn).await.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::oneshot;

    use super::WRITER_THREAD;
    use crate::storage::Database;

    #[tokio::test]
    async fn registrations_run_their_sqlite_calls_on_the_writer_thread() {
        let Ok(Database::Sqlite(pool)) = Database::connect("sqlite::memory:").await else {
            panic!("an in-memory SQLite database");
        };
        let (ran_on, thread) = oneshot::channel();
        pool.register(move |conn| {
            Box::pin(async move {
                let name = conn
                    .spawn_blocking(|_| Ok(std::thread::current().name().map(str::to_owned)))
                    .await?;
                let _ = ran_on.send(name);
                Ok(())
            })
        })
        .await
        .expect("registered");
        assert_eq!(
            thread.await.expect("the registration ran").as_deref(),
            Some(WRITER_THREAD)
        );
    }
}
