//! Serving HL7 v2 over MLLP: the accept loop and the frame-by-frame connection every MLLP
//! listener of the broker shares; what a frame means is the [`FrameHandler`]'s business.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use schemas::hl7v2::mllp::{MllpError, MllpReader, write_frame};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Answers one MLLP frame (an HL7 v2 message) with the frame to send back (its ACK or response).
pub trait FrameHandler: Send + Sync + 'static {
    /// The answer to `frame`.
    fn answer(&self, frame: &[u8]) -> impl Future<Output = Vec<u8>> + Send;
}

/// Accepts connections on `listener`, one task each, and answers every frame with `handler` on
/// the same connection. Bytes outside a frame and oversize frames are logged and left
/// unanswered, the connection stays open. Returns once `shutdown` is cancelled and every
/// connection has closed (a message being handled is answered first).
pub async fn serve<H: FrameHandler>(
    listener: TcpListener,
    handler: Arc<H>,
    shutdown: CancellationToken,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(
                        stream,
                        peer,
                        Arc::clone(&handler),
                        shutdown.clone(),
                    ));
                }
                Err(error) => {
                    tracing::warn!(%error, "MLLP accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    while connections.join_next().await.is_some() {}
}

async fn serve_connection<H: FrameHandler>(
    stream: TcpStream,
    peer: SocketAddr,
    handler: Arc<H>,
    shutdown: CancellationToken,
) {
    tracing::debug!(%peer, "MLLP connection opened");
    let mut reader = MllpReader::new(stream);
    loop {
        let frame = tokio::select! {
            () = shutdown.cancelled() => break,
            frame = reader.next_frame() => frame,
        };
        match frame {
            Ok(Some(frame)) => {
                let answer = handler.answer(&frame).await;
                if let Err(error) = write_frame(reader.get_mut(), &answer).await {
                    tracing::warn!(%peer, %error, "MLLP answer could not be sent");
                    break;
                }
            }
            Ok(None) => break,
            Err(error @ (MllpError::Framing { .. } | MllpError::TooLarge { .. })) => {
                tracing::warn!(%peer, %error, "MLLP framing error, frame not answered");
            }
            Err(error @ (MllpError::UnexpectedEof { .. } | MllpError::Io(_))) => {
                tracing::warn!(%peer, %error, "MLLP connection lost");
                break;
            }
        }
    }
    tracing::debug!(%peer, "MLLP connection closed");
}
