//! Every frame of PROTOCOL.md parses and re-serialises unchanged; bad frames are rejected.

use kato_protocol::{ClientFrame, ServerFrame};
use serde_json::{json, Value};

const FULL: &str = r#"{"type":"prototypical","name":"ab12","frequency":2,"emotives":{"joy":0.5},"matches":["a","b"],"past":[],"present":[["a"],["b"]],"missing":[],"extras":[],"anomalies":[{"observed":"x","expected":"y","similarity":0.9}],"potential":1.5,"evidence":0.66,"similarity":1.0,"fragmentation":0.0,"snr":1.0,"confluence":0.3,"predictive_information":0.1,"sequence":[["a"],["b"],["c"]],"future":[["c"]],"confidence":1.0,"weighted_similarity":null,"weighted_evidence":null,"weighted_confidence":null,"weighted_snr":null,"entropy":1.2,"normalized_entropy":0.5,"global_normalized_entropy":0.4,"itfdf_similarity":0.2,"tfidf_score":0.1,"pattern_probability":0.5,"weighted_strength":0.25,"bayesian_posterior":0.5,"bayesian_prior":0.5,"bayesian_likelihood":1.0}"#;
const SINGLE: &str = r#"{"name":"cd34","pattern_data":[["a"],["b"]],"length":2,"frequency":1,"emotives":{},"matches":["a"],"missing":[],"present":["a"],"past":[],"future":["b"],"extras":[],"similarity":0.5,"evidence":0.5,"confidence":1.0,"snr":1.0,"fragmentation":0,"anomalies":[],"weighted_similarity":null,"weighted_evidence":null,"weighted_confidence":null,"weighted_snr":null,"potential":0.75}"#;

fn client_examples() -> Vec<Value> {
    vec![
        json!({"type":"hello","id":1,"token":"t","session_id":"s","node_id":"n","config":{"max_pattern_length":0},"ttl_seconds":3600,"resume":{"epoch":"e1","offset":7}}),
        json!({"type":"hello","id":1,"api_key":"k"}),
        json!({"type":"observe","id":2,"strings":["a","b"],"vectors":[[0.5,1.0]],"emotives":{"joy":1.0,"fear":0.25},"metadata":{"k":[1,"x"]},"unique_id":"u1"}),
        json!({"type":"observe","id":2}),
        json!({"type":"observe_sequence","id":3,"observations":[{"strings":["a"]},{"strings":["b"],"unique_id":"u2"}],"learn_after_each":false,"learn_at_end":true,"clear_stm_between":false}),
        json!({"type":"learn","id":4}),
        json!({"type":"get_predictions","id":5}),
        json!({"type":"get_stm","id":6}),
        json!({"type":"clear_stm","id":7}),
        json!({"type":"clear_all","id":8}),
        json!({"type":"config","id":9,"config":{"recall_threshold":0.3}}),
        json!({"type":"watch","id":10,"session_id":"s2"}),
        json!({"type":"unwatch","id":11,"session_id":"s2"}),
        json!({"type":"refresh","id":12,"token":"t2"}),
        json!({"type":"ping","id":18446744073709551615u64}),
    ]
}

fn server_examples() -> Vec<Value> {
    let full: Value = serde_json::from_str(FULL).unwrap();
    let single: Value = serde_json::from_str(SINGLE).unwrap();
    let potentials = json!([{"future":[["c"]],"aggregate_potential":1.5,"supporting_patterns":1,"total_weighted_frequency":2.0}]);
    vec![
        json!({"type":"welcome","id":1,"session_id":"s","node_id":"n","stm":[["a"]],"config":{"recall_threshold":0.1},"epoch":"e1","offset":0,"limits":{"observe_per_second":200,"burst":400,"max_frame_bytes":65536},"server":{"version":"0.1.0","instance":"i1"},"token_expires_in_s":3600,"recovered":true}),
        json!({"type":"predictions","id":2,"unique_id":"u1","time":3,"stm_length":2,"auto_learned_pattern":null,"predictions":[full],"future_potentials":potentials,"elapsed_us":42,"offset":5}),
        json!({"type":"predictions","id":5,"unique_id":null,"time":1,"stm_length":1,"auto_learned_pattern":"PTRN|ab","predictions":[single],"future_potentials":[],"elapsed_us":3,"offset":5}),
        json!({"type":"sequence_result","id":3,"status":"completed","processor_id":"n","observations_processed":1,"initial_stm_length":0,"final_stm_length":1,"results":[{"status":"okay","sequence_position":0,"stm_length":1,"time":1,"unique_id":"u2","auto_learned_pattern":null}],"auto_learned_patterns":[],"final_learned_pattern":null,"isolated":false,"predictions":[],"future_potentials":[],"offset":6}),
        json!({"type":"learned","id":4,"pattern_name":""}),
        json!({"type":"stm","id":6,"stm":[["a","b"],["c"]],"length":2}),
        json!({"type":"ack","id":7}),
        json!({"type":"ack","id":12,"token_expires_in_s":900}),
        json!({"type":"config","id":9,"config":{"recall_threshold":0.3}}),
        json!({"type":"pong","id":18,"server_time":1764077000000u64}),
        json!({"type":"event","session_id":"s","epoch":"e1","offset":8,"kind":"learned","data":{"pattern_name":"PTRN|ab"}}),
        json!({"type":"event","session_id":"s","epoch":"e1","offset":9,"kind":"stm_cleared","data":{}}),
        json!({"type":"token_expiring","in_s":30}),
        json!({"type":"error","id":2,"code":"KATO_RATE_LIMITED","message":"slow down","details":{"limit":200},"trace_id":"t1","retry_after_ms":5}),
        json!({"type":"error","code":"KATO_VALIDATION_ERROR","message":"bad","trace_id":"t2"}),
    ]
}

#[test]
fn every_client_frame_round_trips() {
    let mut seen = std::collections::BTreeSet::new();
    for example in client_examples() {
        let frame: ClientFrame =
            serde_json::from_value(example.clone()).unwrap_or_else(|e| panic!("{example}: {e}"));
        assert_eq!(frame.type_name(), example["type"]);
        assert_eq!(json!(frame.id()), example["id"]);
        seen.insert(frame.type_name());
        // Text, not Value: field order must survive too.
        assert_eq!(serde_json::to_string(&frame).unwrap(), example.to_string());
    }
    assert_eq!(seen.len(), 13, "every client frame type has an example");
}

#[test]
fn every_server_frame_round_trips() {
    let mut seen = std::collections::BTreeSet::new();
    for example in server_examples() {
        let frame: ServerFrame =
            serde_json::from_value(example.clone()).unwrap_or_else(|e| panic!("{example}: {e}"));
        seen.insert(example["type"].as_str().unwrap().to_string());
        assert_eq!(serde_json::to_string(&frame).unwrap(), example.to_string());
    }
    assert_eq!(seen.len(), 11, "every server frame type has an example");
}

#[test]
fn the_two_prediction_shapes_are_told_apart() {
    use kato_protocol::Prediction;
    assert!(matches!(
        serde_json::from_str::<Prediction>(FULL).unwrap(),
        Prediction::Full(_)
    ));
    assert!(matches!(
        serde_json::from_str::<Prediction>(SINGLE).unwrap(),
        Prediction::SingleSymbol(_)
    ));
}

#[test]
fn unknown_fields_are_ignored() {
    let frame: ClientFrame =
        serde_json::from_value(json!({"type":"learn","id":1,"extra":true})).unwrap();
    assert_eq!(frame.id(), 1);
}

#[test]
fn bad_client_frames_are_rejected() {
    let cases = [
        json!({"type":"nope","id":1}),
        json!({"id":1}),
        json!({"type":"learn"}),
        json!({"type":"learn","id":"1"}),
        json!({"type":"learn","id":-1}),
        json!({"type":"learn","id":1.5}),
        json!({"type":"watch","id":1}),
        json!({"type":"refresh","id":1}),
        json!({"type":"config","id":1}),
        json!({"type":"config","id":1,"config":[1]}),
        json!({"type":"observe","id":1,"strings":"a"}),
        json!({"type":"observe","id":1,"strings":[1]}),
        json!({"type":"observe","id":1,"emotives":{"joy":"high"}}),
        json!({"type":"observe_sequence","id":1}),
        json!({"type":"observe_sequence","id":1,"observations":[{"strings":["a"]}],"learn_at_end":"yes"}),
        json!({"type":"hello","id":1,"resume":{"epoch":"e"}}),
    ];
    for case in cases {
        assert!(
            serde_json::from_value::<ClientFrame>(case.clone()).is_err(),
            "{case} parsed"
        );
    }
}

#[test]
fn bad_server_frames_are_rejected() {
    let cases = [
        json!({"type":"pong","id":1}),
        json!({"type":"error","code":"KATO_NOPE","message":"m","trace_id":"t"}),
        json!({"type":"error","code":"KATO_INTERNAL","message":"m"}),
        json!({"type":"event","session_id":"s","epoch":"e","offset":1,"kind":"exploded","data":{}}),
        json!({"type":"predictions","id":1,"unique_id":null,"time":1,"stm_length":1,"auto_learned_pattern":null,"predictions":[{"name":"x"}],"future_potentials":[],"elapsed_us":1,"offset":1}),
    ];
    for case in cases {
        assert!(
            serde_json::from_value::<ServerFrame>(case.clone()).is_err(),
            "{case} parsed"
        );
    }
}
