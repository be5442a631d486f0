//! `repository_direct_uploads_total` on `/metrics` counts the ITI-41 uploads read straight from
//! the socket: those that announce their action in their Content-Type, not the others (one test
//! in its own binary, so that no other test moves the process-wide counter meanwhile).

mod support;

use schemas::ebrim::ResponseStatus;
use support::{Content, REPOSITORY_UID, Setup, new_unique_id, one_document_submission, retrieve};

async fn direct_uploads_counted(setup: &Setup) -> u64 {
    let url = format!("http://{}/metrics", setup.repository.http_addr);
    let text = reqwest::get(url).await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("repository_direct_uploads_total "))
        .map_or(0, |value| value.trim().parse().unwrap())
}

/// An ITI-41 of 2 MiB + 1 byte through reqwest, its Content-Type announcing the action or not;
/// checks that it is stored whole.
async fn upload(setup: &Setup, announce: bool) {
    let (body, sha1) = support::generated_document(2 * 1024 * 1024 + 1, 256 * 1024);
    let unique_id = new_unique_id();
    let submission = one_document_submission(&unique_id);
    let documents = vec![("Document01", Content::Part(body))];
    let response = if announce {
        support::provide_and_register(&setup.url(), submission, documents).await
    } else {
        support::provide_and_register_unannounced(&setup.url(), submission, documents).await
    };
    assert_eq!(response.status, ResponseStatus::Success, "{response:?}");
    let (_, parts) = retrieve(&setup.url(), &[(REPOSITORY_UID, &unique_id)]).await;
    assert_eq!(parts[0].sha1, sha1);
}

#[tokio::test]
async fn only_uploads_that_announce_their_action_are_read_straight_from_the_socket() {
    let setup = Setup::new().await;
    let before = direct_uploads_counted(&setup).await;
    upload(&setup, true).await;
    assert_eq!(direct_uploads_counted(&setup).await, before + 1);
    upload(&setup, false).await;
    assert_eq!(
        direct_uploads_counted(&setup).await,
        before + 1,
        "served through hyper"
    );
}
