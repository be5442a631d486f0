//! Where a SQLite connection runs its (blocking) calls: on tokio's blocking pool, except on the
//! group-commit writer's thread, which runs them in place.
//!
//! The writer ([`super::group_commit`]) is a thread of its own that does nothing but run the
//! registrations of a group one after the other, so a call blocking it blocks nobody else. A hop
//! to a blocking-pool thread and back for every statement of every registration (about eight
//! per single-document registration, each two thread wake-ups) cost most of a group's time on
//! a loaded machine (measured: a process 23% busy at 325 registrations/s, fsync 8% of the
//! wall time); in place, a group runs without a thread switch until its commit.

use std::cell::Cell;
use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use diesel_async::sync_connection_wrapper::SpawnBlocking;
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::runtime::Handle;
use tokio::task::{JoinError, JoinHandle};

thread_local! {
    /// Set on the group-commit writer's thread: its SQLite calls run in place.
    static RUNS_IN_PLACE: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread as one whose SQLite calls run in place (the writer's own thread).
pub(super) fn run_calls_in_place() {
    RUNS_IN_PLACE.with(|flag| flag.set(true));
}

/// The [`SpawnBlocking`] of the registry's SQLite connections: the blocking pool of the runtime
/// that opened the connection, or in place on the writer's thread (and where no runtime is
/// running, which has no pool to hand the call to).
pub struct SqliteCalls(Option<Handle>);

impl SpawnBlocking for SqliteCalls {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> BoxFuture<'a, Result<R, Box<dyn Error + Send + Sync + 'static>>>
    where
        R: Send + 'static,
    {
        match &self.0 {
            Some(handle) if !RUNS_IN_PLACE.with(Cell::get) => Finishing {
                task: handle.spawn_blocking(task),
                handle: handle.clone(),
            }
            .map(|joined| joined.map_err(Box::from))
            .boxed(),
            _ => std::future::ready(Ok(task())).boxed(),
        }
    }

    fn get_runtime() -> Self {
        SqliteCalls(Handle::try_current().ok())
    }
}

/// A call on the blocking pool that is waited for even when its caller gives up on it: the
/// connection it holds must be free again before the connection is used or returned to the pool
/// (as diesel-async's own tokio spawner does).
struct Finishing<R> {
    task: JoinHandle<R>,
    handle: Handle,
}

impl<R> Future for Finishing<R> {
    type Output = Result<R, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx)
    }
}

impl<R> Drop for Finishing<R> {
    fn drop(&mut self) {
        if !self.task.is_finished() {
            let (handle, task) = (&self.handle, &mut self.task);
            tokio::task::block_in_place(|| {
                // Only the call's end matters here, not its result.
                let _ = handle.block_on(task);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::thread::{self, ThreadId};

    use diesel_async::sync_connection_wrapper::SpawnBlocking;

    use super::{SqliteCalls, run_calls_in_place};

    async fn thread_of_a_call(calls: &mut SqliteCalls) -> ThreadId {
        calls
            .spawn_blocking(|| thread::current().id())
            .await
            .expect("the call ran")
    }

    #[test]
    fn calls_on_the_writer_thread_run_in_place() {
        let writer = thread::spawn(|| {
            run_calls_in_place();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let mut calls = SqliteCalls::get_runtime();
                (thread_of_a_call(&mut calls).await, thread::current().id())
            })
        });
        let (call, writer) = writer.join().expect("writer thread");
        assert_eq!(call, writer);
    }

    #[tokio::test]
    async fn calls_elsewhere_run_on_the_blocking_pool() {
        let mut calls = SqliteCalls::get_runtime();
        assert_ne!(thread_of_a_call(&mut calls).await, thread::current().id());
    }
}
