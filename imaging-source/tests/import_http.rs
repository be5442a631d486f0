//! `POST /consumer/entries/{entry}/import` answers bad input with a 4xx and a reason before
//! anything is retrieved or sent, and an unreachable PIX Manager (PDQ) with a 502.

#[path = "support/serve.rs"]
mod serve;

use serve::Setup;

async fn post(setup: &Setup, body: serde_json::Value) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/consumer/entries/2.25.77/import", setup.base()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    (status, body)
}

#[tokio::test]
async fn local_patient_without_assigning_authority_is_400() {
    let setup = Setup::new().await;
    let (status, body) = post(
        &setup,
        serde_json::json!({"pacs": "http://127.0.0.1:1/dicom-web", "patient": "LOCAL-42"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("CX.4"), "{body}");
}

#[tokio::test]
async fn unknown_body_field_is_400() {
    let setup = Setup::new().await;
    let (status, body) = post(
        &setup,
        serde_json::json!({"pacs": "http://x/dicom-web", "patient": "L^^^HOSPB", "patinet": 1}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn relative_work_dir_is_400() {
    let setup = Setup::new().await;
    let (status, body) = post(
        &setup,
        serde_json::json!({
            "pacs": "http://127.0.0.1:1/dicom-web",
            "patient": "LOCAL-42^^^HOSPB",
            "work_dir": "relative/folder",
        }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("work_dir"),
        "{body}"
    );
}

#[tokio::test]
async fn pdq_with_the_pix_manager_unreachable_is_502() {
    let mut config = imaging_source::config::Config::default();
    config.consumer.pix_address = "127.0.0.1:1".into();
    let setup = Setup::with_config(config).await;
    let (status, body) = post(
        &setup,
        serde_json::json!({
            "pacs": "http://127.0.0.1:1/dicom-web",
            "patient": "LOCAL-42^^^&1.2.3.4.5.6.7.9.1&ISO",
            "pdq": true,
        }),
    )
    .await;
    assert_eq!(status, 502, "{body}");
    assert!(body["error"].as_str().unwrap().contains("ITI-21"), "{body}");
}
