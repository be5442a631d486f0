//! A stand-in PIX Manager for ITI-9 (the real one lives in `pix-manager`): answers QBP^Q23 from
//! a fixed table of local id → affinity-domain id, AE with ERR 204 for an unknown patient.

use schemas::hl7v2::message::Message;
use schemas::hl7v2::mllp::{MllpReader, write_frame};

pub async fn fake_pix_manager(table: Vec<(String, String)>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let table = table.clone();
            tokio::spawn(async move {
                let mut reader = MllpReader::new(stream);
                while let Ok(Some(frame)) = reader.next_frame().await {
                    let query = Message::parse(&frame).unwrap();
                    let local = query.get("QPD-3.1").unwrap_or_default().to_owned();
                    let domain = query.get("QPD-4.4.2").unwrap_or_default().to_owned();
                    let tag = query.get("QPD-2").unwrap_or_default().to_owned();
                    let head = "MSH|^~\\&|PIX_MANAGER|HIE|HIE_IDS|HIE|20261102||RSP^K23^RSP_K23|r1|P|2.5\r";
                    let answer = match table.iter().find(|(l, _)| *l == local) {
                        Some((_, ad)) => format!(
                            "{head}MSA|AA|{}\rQAK|{tag}|OK\rQPD|IHE PIX Query|{tag}\rPID|||{ad}^^^&{domain}&ISO\r",
                            query.control_id()
                        ),
                        None => format!(
                            "{head}MSA|AE|{}\rERR||QPD^1^3^1^1|204^Unknown Key Identifier^HL70357|E\rQAK|{tag}|AE\rQPD|IHE PIX Query|{tag}\r",
                            query.control_id()
                        ),
                    };
                    write_frame(reader.get_mut(), answer.as_bytes())
                        .await
                        .unwrap();
                }
            });
        }
    });
    address
}
