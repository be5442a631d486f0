//! RAD-107 WADO-RS (study, series, instance, metadata) and RAD-55 WADO-URI: instances streamed
//! byte-identical in multipart/related or application/dicom, 404/400/406 with a reason.

#[path = "support/serve.rs"]
mod serve;

use serve::{EXPLICIT_LE, IMPLICIT_LE, SERIES_A, SERIES_B, STUDY, Setup};

const SOP_1: &str = "1.2.826.0.1.3680043.8.498.1.1.1";
const SOP_2: &str = "1.2.826.0.1.3680043.8.498.1.1.2";
const SOP_3: &str = "1.2.826.0.1.3680043.8.498.1.2.1";

/// The parts of a multipart/related answer: (Content-Type, bytes).
async fn multipart_parts(response: reqwest::Response) -> Vec<(String, Vec<u8>)> {
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("multipart/related")
            && content_type.contains("type=\"application/dicom\""),
        "{content_type}"
    );
    let mime: mime::Mime = content_type.parse().unwrap();
    let boundary = mime.get_param("boundary").unwrap().as_str().to_owned();
    let stream = response.bytes_stream();
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.unwrap() {
        let part_type = field
            .content_type()
            .map(|m| m.to_string())
            .unwrap_or_default();
        parts.push((part_type, field.bytes().await.unwrap().to_vec()));
    }
    parts
}

async fn json(response: reqwest::Response) -> Vec<serde_json::Value> {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

async fn get(url: String) -> reqwest::Response {
    reqwest::Client::new().get(url).send().await.unwrap()
}

async fn three_instances(setup: &Setup) -> [Vec<u8>; 3] {
    [
        setup.stored(SERIES_A, SOP_1, EXPLICIT_LE).await,
        setup.stored(SERIES_A, SOP_2, IMPLICIT_LE).await,
        setup.stored(SERIES_B, SOP_3, EXPLICIT_LE).await,
    ]
}

#[tokio::test]
async fn retrieve_study_returns_every_instance_byte_identical() {
    let setup = Setup::new().await;
    let expected = three_instances(&setup).await;
    let response = get(format!("{}/dicomweb/studies/{STUDY}", setup.base())).await;
    assert_eq!(response.status(), 200);
    let parts = multipart_parts(response).await;
    assert_eq!(parts.len(), 3);
    assert!(parts.iter().all(|(t, _)| t == "application/dicom"));
    let mut got: Vec<Vec<u8>> = parts.into_iter().map(|(_, b)| b).collect();
    let mut want = expected.to_vec();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn retrieve_series_returns_only_that_series() {
    let setup = Setup::new().await;
    let [_, _, three] = three_instances(&setup).await;
    let response = reqwest::Client::new()
        .get(format!(
            "{}/dicomweb/studies/{STUDY}/series/{SERIES_B}",
            setup.base()
        ))
        .header("accept", "multipart/related; type=\"application/dicom\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let parts = multipart_parts(response).await;
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].1, three);
}

#[tokio::test]
async fn retrieve_instance_returns_that_instance() {
    let setup = Setup::new().await;
    let [_, two, _] = three_instances(&setup).await;
    let response = get(format!(
        "{}/dicomweb/studies/{STUDY}/series/{SERIES_A}/instances/{SOP_2}",
        setup.base()
    ))
    .await;
    assert_eq!(response.status(), 200);
    let parts = multipart_parts(response).await;
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].1, two);
}

#[tokio::test]
async fn study_metadata_is_dicom_json_of_every_instance() {
    let setup = Setup::new().await;
    three_instances(&setup).await;
    let response = get(format!(
        "{}/dicomweb/studies/{STUDY}/metadata",
        setup.base()
    ))
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/dicom+json"
    );
    let objects = json(response).await;
    assert_eq!(objects.len(), 3);
    let mut sops: Vec<&str> = objects
        .iter()
        .map(|o| o["00080018"]["Value"][0].as_str().unwrap())
        .collect();
    sops.sort();
    assert_eq!(sops, [SOP_1, SOP_2, SOP_3]);
    assert!(objects.iter().all(|o| o["0020000D"]["Value"][0] == STUDY));
    assert!(objects.iter().all(|o| o.get("7FE00010").is_none()));
}

#[tokio::test]
async fn series_and_instance_metadata_are_served() {
    let setup = Setup::new().await;
    three_instances(&setup).await;
    let series = json(
        get(format!(
            "{}/dicomweb/studies/{STUDY}/series/{SERIES_A}/metadata",
            setup.base()
        ))
        .await,
    )
    .await;
    assert_eq!(series.len(), 2);
    let instance = json(
        get(format!(
            "{}/dicomweb/studies/{STUDY}/series/{SERIES_B}/instances/{SOP_3}/metadata",
            setup.base()
        ))
        .await,
    )
    .await;
    assert_eq!(instance.len(), 1);
    assert_eq!(instance[0]["00080018"]["Value"][0], SOP_3);
}

#[tokio::test]
async fn unknown_study_series_or_instance_is_404_with_a_reason() {
    let setup = Setup::new().await;
    three_instances(&setup).await;
    for path in [
        "/dicomweb/studies/1.2.3".to_owned(),
        format!("/dicomweb/studies/{STUDY}/series/1.2.3"),
        format!("/dicomweb/studies/{STUDY}/series/{SERIES_A}/instances/1.2.3"),
        "/dicomweb/studies/1.2.3/metadata".to_owned(),
    ] {
        let response = get(format!("{}{path}", setup.base())).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(
            response.text().await.unwrap().contains("no instance"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn path_value_that_is_not_a_uid_is_400() {
    let setup = Setup::new().await;
    let response = get(format!("{}/dicomweb/studies/..%2Fetc", setup.base())).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("not a DICOM UID"));
}

#[tokio::test]
async fn accept_other_than_multipart_dicom_is_406() {
    let setup = Setup::new().await;
    three_instances(&setup).await;
    let response = reqwest::Client::new()
        .get(format!("{}/dicomweb/studies/{STUDY}", setup.base()))
        .header("accept", "multipart/related; type=\"image/jpeg\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 406);
}

#[tokio::test]
async fn wado_uri_returns_the_instance_as_application_dicom() {
    let setup = Setup::new().await;
    let [one, _, _] = three_instances(&setup).await;
    let response = get(format!(
        "{}/wado?requestType=WADO&studyUID={STUDY}&seriesUID={SERIES_A}&objectUID={SOP_1}&contentType=application%2Fdicom",
        setup.base()
    ))
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/dicom"
    );
    assert_eq!(response.bytes().await.unwrap().to_vec(), one);
}

#[tokio::test]
async fn wado_uri_without_a_required_parameter_is_400() {
    let setup = Setup::new().await;
    let response = get(format!(
        "{}/wado?requestType=WADO&studyUID={STUDY}&objectUID={SOP_1}&contentType=application%2Fdicom",
        setup.base()
    ))
    .await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("seriesUID"));
}

#[tokio::test]
async fn wado_uri_with_an_empty_study_or_series_uid_is_404() {
    let setup = Setup::new().await;
    three_instances(&setup).await;
    for (study, series) in [("", SERIES_A), (STUDY, ""), ("", "")] {
        let response = get(format!(
            "{}/wado?requestType=WADO&studyUID={study}&seriesUID={series}&objectUID={SOP_1}&contentType=application%2Fdicom",
            setup.base()
        ))
        .await;
        assert_eq!(
            response.status(),
            404,
            "studyUID={study:?} seriesUID={series:?}"
        );
        assert!(response.text().await.unwrap().contains("empty"));
    }
}

#[tokio::test]
async fn wado_uri_request_type_other_than_wado_is_400() {
    let setup = Setup::new().await;
    let response = get(format!(
        "{}/wado?requestType=XYZ&studyUID={STUDY}&seriesUID={SERIES_A}&objectUID={SOP_1}&contentType=application%2Fdicom",
        setup.base()
    ))
    .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn wado_uri_rendered_content_type_is_406() {
    let setup = Setup::new().await;
    three_instances(&setup).await;
    let response = get(format!(
        "{}/wado?requestType=WADO&studyUID={STUDY}&seriesUID={SERIES_A}&objectUID={SOP_1}",
        setup.base()
    ))
    .await;
    assert_eq!(response.status(), 406);
    assert!(response.text().await.unwrap().contains("contentType"));
}

#[tokio::test]
async fn wado_uri_unknown_object_is_404() {
    let setup = Setup::new().await;
    let response = get(format!(
        "{}/wado?requestType=WADO&studyUID={STUDY}&seriesUID={SERIES_A}&objectUID=1.2.3&contentType=application%2Fdicom",
        setup.base()
    ))
    .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn study_only_in_the_pacs_is_relayed_from_one_retrieve_study_answer() {
    let one = serve::dicom_instance(STUDY, SERIES_A, SOP_1, EXPLICIT_LE, 1000);
    let two = serve::dicom_instance(STUDY, SERIES_A, SOP_2, EXPLICIT_LE, 3000);
    let pacs = serve::fake_pacs_logged(vec![
        (
            STUDY.into(),
            SERIES_A.into(),
            SOP_1.into(),
            EXPLICIT_LE.into(),
            one.clone(),
        ),
        (
            STUDY.into(),
            SERIES_A.into(),
            SOP_2.into(),
            EXPLICIT_LE.into(),
            two.clone(),
        ),
    ])
    .await;
    let setup = Setup::with_pacs(Some(pacs.url.clone())).await;
    let response = get(format!("{}/dicomweb/studies/{STUDY}", setup.base())).await;
    assert_eq!(response.status(), 200);
    let parts = multipart_parts(response).await;
    let bodies: Vec<Vec<u8>> = parts.into_iter().map(|(_, bytes)| bytes).collect();
    assert_eq!(bodies, [one, two]);
    assert_eq!(pacs.retrieves(), [format!("/dicom-web/studies/{STUDY}")]);
}
