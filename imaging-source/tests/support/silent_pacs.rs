//! A PACS that never answers, for the timeout tests.

/// A PACS on a free port that accepts every connection and never answers (nor closes it); its
/// DICOMweb root URL.
pub async fn silent_pacs() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            held.push(connection);
        }
    });
    format!("http://{addr}/dicom-web")
}
