//! The PIX manager's MLLP listener (ITI-8, ITI-9, ITI-21).

use std::sync::Arc;

use service_kit::mllp::{FrameHandler, serve};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::handle_v2;
use crate::manager::PixManager;

impl FrameHandler for PixManager {
    /// [`handle_v2`].
    fn answer(&self, frame: &[u8]) -> impl Future<Output = Vec<u8>> + Send {
        handle_v2(frame, self)
    }
}

/// ITI-8 / ITI-9 / ITI-21 over MLLP: every frame answered by [`handle_v2`] on its connection
/// ([`service_kit::mllp::serve`]).
pub async fn serve_mllp(
    listener: TcpListener,
    manager: Arc<PixManager>,
    shutdown: CancellationToken,
) {
    serve(listener, manager, shutdown).await;
}
