//! The registry's MLLP listener for ITI-8 (and ITI-10 notifications from a PIX manager).

use std::sync::Arc;

use service_kit::mllp::{FrameHandler, serve};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{PatientStore, handle_v2};

/// The identity feed of `store` in the affinity domain.
struct IdentityFeed<S> {
    store: Arc<S>,
    affinity_domain: String,
}

impl<S: PatientStore + 'static> FrameHandler for IdentityFeed<S> {
    /// [`handle_v2`].
    fn answer(&self, frame: &[u8]) -> impl Future<Output = Vec<u8>> + Send {
        handle_v2(frame, self.store.as_ref(), &self.affinity_domain)
    }
}

/// ITI-8 Patient Identity Feed over MLLP: every frame answered with its ACK ([`handle_v2`]) on
/// its connection ([`service_kit::mllp::serve`]).
pub async fn serve_mllp<S: PatientStore + 'static>(
    listener: TcpListener,
    store: Arc<S>,
    affinity_domain: String,
    shutdown: CancellationToken,
) {
    let feed = IdentityFeed {
        store,
        affinity_domain,
    };
    serve(listener, Arc::new(feed), shutdown).await;
}
