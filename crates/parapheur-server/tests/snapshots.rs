//! Snapshots of FAST JSON bodies (history, search, error bodies), ids and dates redacted: any
//! change of shape, field name, label or error text shows as a snapshot diff.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::{SIREN_A, SIREN_B, TestApp, pdf};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const V1: &str = "/parapheur-ws/rest/v1";

#[test]
fn history_search_and_error_bodies() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let id = c.upload(SIREN_A, "VV", "h.pdf", pdf::small("h"), "").id();
    app.as_user("v1@a.fr").act(id, "visa", None);
    let refused = c.upload(SIREN_A, "S", "r.pdf", pdf::small("r"), "").id();
    app.as_user("s1@a.fr")
        .act(refused, "refuse", Some("Montant erroné"));

    let history = c.get(&format!("{V1}/documents/v2/{id}/history")).json();
    insta::assert_json_snapshot!("history_after_a_visa", history, {
        "[].date" => "[date]",
    });
    let history = c
        .get(&format!("{V1}/documents/v2/{refused}/history"))
        .json();
    insta::assert_json_snapshot!("history_of_a_refusal", history, {
        "[].date" => "[date]",
    });
    let refusal = c
        .get(&format!("{V1}/documents/v2/{refused}/comments/refusal"))
        .json();
    insta::assert_json_snapshot!("refusal_comment", refusal, {
        ".date" => "[date]",
    });

    let search = |body: serde_json::Value| c.post_json(&format!("{V1}/documents/search"), body);
    insta::assert_json_snapshot!(
        "search_refused",
        search(json!({"siren": SIREN_A, "state": "Refusé"})).json(),
        { "[]" => "[id]" }
    );
    insta::assert_json_snapshot!(
        "search_of_another_subscriber",
        search(json!({"siren": SIREN_B})).json(),
        { ".generation" => "[generation]" }
    );
    insta::assert_json_snapshot!(
        "search_with_an_unknown_state",
        search(json!({"siren": SIREN_A, "state": "nimporte"})).json(),
        { ".generation" => "[generation]" }
    );
    insta::assert_json_snapshot!(
        "history_of_an_invalid_id",
        c.get(&format!("{V1}/documents/v2/abc/history")).json(),
        { ".generation" => "[generation]" }
    );
    insta::assert_json_snapshot!(
        "history_of_an_unknown_document",
        c.get(&format!("{V1}/documents/v2/12345/history")).json(),
        { ".generation" => "[generation]" }
    );
}
