//! An S3-compatible server on loopback for the S3 store tests: moto's `moto_server` (PyPI
//! `moto[server]`, installed by `.ci/run`), started on a port of its choosing with one empty
//! bucket, and stopped when dropped. A missing `moto_server` fails the test with the install
//! command.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use repository::config::S3Config;

/// The pinned version `.ci/run` installs.
pub const MOTO_INSTALL: &str = "python3 -m pip install \"moto[server]==5.1.4\"";

/// A running `moto_server` with one bucket.
pub struct Moto {
    child: Child,
    pub endpoint: String,
    pub bucket: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts `moto_server` on a loopback port it chooses itself (port 0: a port picked here and
    /// released before the server binds it could be taken meanwhile by a server of another test
    /// running in parallel) and creates the bucket `hie-test`.
    pub async fn start() -> Moto {
        let mut child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("moto_server cannot be started ({e}); install it with: {MOTO_INSTALL}")
            });
        let stderr = child.stderr.take().expect("piped stderr");
        let (port_sender, port) = tokio::sync::oneshot::channel();
        // Werkzeug announces the bound address on stderr; the rest of it is read and dropped so
        // that the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut port_sender = Some(port_sender);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(port) = line
                    .split_once("Running on http://127.0.0.1:")
                    .and_then(|(_, port)| port.trim().parse::<u16>().ok())
                    && let Some(sender) = port_sender.take()
                {
                    let _ = sender.send(port);
                }
            }
        });
        let Ok(Ok(port)) = tokio::time::timeout(Duration::from_secs(60), port).await else {
            let _ = child.kill();
            panic!("moto_server did not announce its port within 60 s");
        };
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: "hie-test".to_owned(),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if client.get(&moto.endpoint).send().await.is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on {} within 60 s",
                moto.endpoint
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let created = client
            .put(format!("{}/{}", moto.endpoint, moto.bucket))
            .send()
            .await
            .unwrap();
        assert!(
            created.status().is_success(),
            "bucket not created: {created:?}"
        );
        moto
    }

    /// The `[repository.s3]` section pointing at this server.
    pub fn config(&self) -> S3Config {
        S3Config {
            bucket: self.bucket.clone(),
            region: "us-east-1".to_owned(),
            endpoint: Some(self.endpoint.clone()),
            access_key_id: Some("testing".to_owned()),
            secret_access_key: Some("testing".to_owned()),
            allow_http: true,
            ..S3Config::default()
        }
    }
}
