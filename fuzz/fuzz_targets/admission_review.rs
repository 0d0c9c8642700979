//! Bytes -> `AdmissionReview::from_slice` -> `review::review` -> the JSON answer, exactly what the
//! webhook's `POST /validate` does with a request body (the HTTP layer aside).
//!
//! Invariants: a decoded review is always answered with its own uid, and the answer serializes.
#![no_main]

use std::sync::LazyLock;

use changelint_policies::Policy;
use changelint_webhook::admission::AdmissionReview;
use changelint_webhook::review;
use libfuzzer_sys::fuzz_target;

static POLICY: LazyLock<Policy> = LazyLock::new(Policy::default);

fuzz_target!(|data: &[u8]| {
    let Ok((api_version, request)) = AdmissionReview::from_slice(data) else {
        return;
    };
    let uid = request.uid.clone();
    let reviewed = review::review(request, &POLICY);
    assert_eq!(
        reviewed.response.uid, uid,
        "the answer carries the request's uid"
    );
    let answer = reviewed.response.into_review(&api_version);
    serde_json::to_vec(&answer).expect("the answer serializes");
});
