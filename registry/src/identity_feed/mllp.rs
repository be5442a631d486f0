//! The registry's MLLP listener for ITI-8 (and ITI-10 notifications from a PIX manager).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use schemas::hl7v2::mllp::{MllpError, MllpReader, write_frame};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{PatientStore, handle_v2};

/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// ITI-8 Patient Identity Feed over MLLP: accepts connections on `listener`, one task each,
/// answers every frame with its ACK ([`handle_v2`]) on the same connection. Bytes outside a
/// frame and oversize frames are logged and left unanswered, the connection stays open. Returns
/// once `shutdown` is cancelled and every connection has closed (a message being handled is
/// answered first).
pub async fn serve_mllp<S: PatientStore + 'static>(
    listener: TcpListener,
    store: Arc<S>,
    affinity_domain: String,
    shutdown: CancellationToken,
) {
    let affinity_domain: Arc<str> = affinity_domain.into();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(
                        stream,
                        peer,
                        Arc::clone(&store),
                        Arc::clone(&affinity_domain),
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

async fn serve_connection<S: PatientStore>(
    stream: TcpStream,
    peer: SocketAddr,
    store: Arc<S>,
    affinity_domain: Arc<str>,
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
                let answer = handle_v2(&frame, store.as_ref(), &affinity_domain).await;
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
