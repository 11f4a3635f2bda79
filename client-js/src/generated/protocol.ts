// GENERATED from protocol/ (Rust) by `cargo run -p kato-protocol --bin generate`.
// Do not edit: change the Rust types and regenerate.

/**
 * Reply to `clear_stm`, `clear_all`, `watch`, `unwatch` and `refresh` (which adds
 * `token_expires_in_s`).
 */
export type Ack = {
  "id": number;
  "token_expires_in_s"?: (number | null);
};

/**
 * A fuzzy-token substitution (ALGORITHM.md §4.4).
 */
export type Anomaly = {
  "observed": string;
  "expected": string;
  "similarity": number;
};

/**
 * Wipe the node's knowledge base (scope `admin`); replied to with `ack`.
 */
export type ClearAll = {
  "id": number;
};

/**
 * Clear the STM; replied to with `ack`.
 */
export type ClearStm = {
  "id": number;
};

/**
 * Every frame a client may send.
 */
export type ClientFrame = (Hello & {
  "type": "hello";
} | Observe & {
  "type": "observe";
} | ObserveSequence & {
  "type": "observe_sequence";
} | Learn & {
  "type": "learn";
} | GetPredictions & {
  "type": "get_predictions";
} | GetStm & {
  "type": "get_stm";
} | ClearStm & {
  "type": "clear_stm";
} | ClearAll & {
  "type": "clear_all";
} | Config & {
  "type": "config";
} | Watch & {
  "type": "watch";
} | Unwatch & {
  "type": "unwatch";
} | Refresh & {
  "type": "refresh";
} | Ping & {
  "type": "ping";
});

/**
 * Why the server closed the connection. On the wire: the close frame's numeric code.
 */
export type CloseCode = ("normal" | "server_shutting_down" | "unauthorized" | "token_expired" | "forbidden" | "session_not_found" | "slow_consumer" | "frame_too_large" | "no_pong" | "rate_limit_abuse" | "protocol_error");

/**
 * Update the session's config; replied to with `config` (the effective config).
 */
export type Config = {
  "id": number;
  "config": { [key: string]: unknown };
};

/**
 * `data` of a `config_changed` event.
 */
export type ConfigChanged = {
  "config": { [key: string]: unknown };
};

/**
 * Reply to `config`: the session's effective config after the update.
 */
export type ConfigReply = {
  "id": number;
  "config": { [key: string]: unknown };
};

/**
 * `data` of events that carry nothing: `{}`.
 */
export type Empty = { [key: string]: unknown };

/**
 * A failed request (with its `id`) or a connection-level problem (without).
 */
export type Error = {
  "id"?: (number | null);
  "code": ErrorCode;
  "message": string;
  /**
   * Names the offending field, limits, etc.
   */
  "details"?: ({ [key: string]: unknown } | null);
  "trace_id": string;
  /**
   * With `KATO_RATE_LIMITED`: when the frame may be retried.
   */
  "retry_after_ms"?: (number | null);
};

/**
 * Stable error codes. The string form (`KATO_...`) never changes once published.
 */
export type ErrorCode = ("KATO_VALIDATION_ERROR" | "KATO_UNAUTHORIZED" | "KATO_FORBIDDEN" | "KATO_SESSION_NOT_FOUND" | "KATO_SESSION_EXPIRED" | "KATO_RATE_LIMITED" | "KATO_DATABASE_ERROR" | "KATO_CIRCUIT_OPEN" | "KATO_PAYLOAD_TOO_LARGE" | "KATO_NOT_FOUND" | "KATO_METHOD_NOT_ALLOWED" | "KATO_CAPACITY" | "KATO_INTERNAL");

/**
 * A state change of a watched session (PROTOCOL.md §5). On the wire `kind` and `data` are
 * sibling fields: `{"type":"event","session_id":…,"epoch":…,"offset":…,"kind":"learned","data":{…}}`.
 */
export type Event = ({
  "kind": "observed";
  "data": Observed;
} | {
  "kind": "learned";
  "data": LearnedData;
} | {
  "kind": "stm_cleared";
  "data": StmCleared;
} | {
  "kind": "config_changed";
  "data": ConfigChanged;
} | {
  "kind": "deleted";
  "data": Empty;
} | {
  "kind": "expired";
  "data": Empty;
}) & {
  "session_id": string;
  "epoch": string;
  /**
   * Monotonically increasing inside `epoch`, from 1.
   */
  "offset": number;
};

/**
 * The full-path prediction object, fields in the order of ALGORITHM.md §4.10.
 */
export type FullPrediction = {
  "type": PredictionType;
  "name": string;
  "frequency": number;
  "emotives": { [key: string]: number };
  "matches": Array<string>;
  "past": Array<Array<string>>;
  "present": Array<Array<string>>;
  "missing": Array<Array<string>>;
  "extras": Array<Array<string>>;
  "anomalies": Array<Anomaly>;
  "potential": number;
  "evidence": number;
  "similarity": number;
  "fragmentation": number;
  "snr": number;
  "confluence": number;
  "predictive_information": number;
  "sequence": Array<Array<string>>;
  "future": Array<Array<string>>;
  "confidence": number;
  /**
   * `null` unless a weighted rank sort is configured.
   */
  "weighted_similarity"?: (number | null);
  "weighted_evidence"?: (number | null);
  "weighted_confidence"?: (number | null);
  "weighted_snr"?: (number | null);
  "entropy": number;
  "normalized_entropy": number;
  "global_normalized_entropy": number;
  "itfdf_similarity": number;
  "tfidf_score": number;
  "pattern_probability": number;
  "weighted_strength": number;
  "bayesian_posterior": number;
  "bayesian_prior": number;
  "bayesian_likelihood": number;
  /**
   * Present only when the ensemble was pruned (ALGORITHM.md §4.6).
   */
  "_pre_potential"?: (number | null);
};

/**
 * One entry of `future_potentials` (ALGORITHM.md §4.7.5).
 */
export type FuturePotential = {
  "future": Array<Array<string>>;
  "aggregate_potential": number;
  "supporting_patterns": number;
  "total_weighted_frequency": number;
};

/**
 * Recompute the predictions for the current STM (no STM change); replied to with `predictions`.
 */
export type GetPredictions = {
  "id": number;
};

/**
 * Read the STM; replied to with `stm`.
 */
export type GetStm = {
  "id": number;
};

/**
 * Authenticates (when the upgrade carried no token) and binds the connection to a session:
 * resumes `session_id`, or creates a session on `node_id`. Replied to with `welcome`.
 */
export type Hello = {
  "id": number;
  /**
   * A JWT, when neither the `Authorization` header nor a `bearer.<token>` subprotocol had one.
   */
  "token"?: (string | null);
  /**
   * A service account's API key (instead of a token).
   */
  "api_key"?: (string | null);
  /**
   * Resume this session (it must belong to the same subject).
   */
  "session_id"?: (string | null);
  /**
   * Node of the session to create (when `session_id` is absent).
   */
  "node_id"?: (string | null);
  /**
   * Config overrides of the session to create.
   */
  "config"?: ({ [key: string]: unknown } | null);
  /**
   * TTL of the session to create.
   */
  "ttl_seconds"?: (number | null);
  /**
   * Replay the session's events after this position (PROTOCOL.md §5).
   */
  "resume"?: (Resume | null);
};

/**
 * Learn the STM as a pattern; replied to with `learned`.
 */
export type Learn = {
  "id": number;
};

/**
 * Reply to `learn`; `pattern_name` is `""` when the STM had fewer than 2 symbols.
 */
export type Learned = {
  "id": number;
  "pattern_name": string;
};

/**
 * `data` of a `learned` event.
 */
export type LearnedData = {
  "pattern_name": string;
};

/**
 * Flow-control limits of the connection (PROTOCOL.md §6).
 */
export type Limits = {
  "observe_per_second": number;
  "burst": number;
  "max_frame_bytes": number;
};

/**
 * One item of `observe_sequence`: the fields of `observe` without `id`.
 */
export type Observation = {
  "strings"?: (Array<string> | null);
  "vectors"?: (Array<Array<number>> | null);
  "emotives"?: ({ [key: string]: number } | null);
  "metadata"?: ({ [key: string]: unknown } | null);
  "unique_id"?: (string | null);
};

/**
 * One observation; replied to with `predictions` for the STM right after it.
 */
export type Observe = {
  "id": number;
  "strings"?: (Array<string> | null);
  "vectors"?: (Array<Array<number>> | null);
  "emotives"?: ({ [key: string]: number } | null);
  "metadata"?: ({ [key: string]: unknown } | null);
  /**
   * Idempotency key: a replayed `observe` with a known `unique_id` is answered from the
   * stored result, not applied twice (PROTOCOL.md §8).
   */
  "unique_id"?: (string | null);
};

/**
 * Several observations in one frame; one `sequence_result` reply at the end. Absent flags
 * are `false`.
 */
export type ObserveSequence = {
  "id": number;
  "observations": Array<Observation>;
  "learn_after_each"?: (boolean | null);
  "learn_at_end"?: (boolean | null);
  "clear_stm_between"?: (boolean | null);
};

/**
 * `data` of an `observed` event. For a single `observe` it is the `predictions` reply
 * without `id`; for each item of `observe_sequence` it has `sequence_position` and no
 * `elapsed_us`, and only the last item carries the final predictions.
 */
export type Observed = {
  "unique_id": string;
  "time": number;
  "stm_length": number;
  "auto_learned_pattern"?: (string | null);
  "predictions"?: (Array<Prediction> | null);
  "future_potentials"?: (Array<FuturePotential> | null);
  "elapsed_us"?: (number | null);
  /**
   * This event's offset.
   */
  "offset": number;
  "sequence_position"?: (number | null);
};

/**
 * Application-level ping; replied to with `pong`.
 */
export type Ping = {
  "id": number;
};

/**
 * Reply to `ping`.
 */
export type Pong = {
  "id": number;
  /**
   * Server clock, Unix time in milliseconds.
   */
  "server_time": number;
};

/**
 * One prediction: the full-path object (STM of 2+ symbols) or the flat single-symbol one.
 * Untagged on the wire; the full-path shape is the one with `"type": "prototypical"`.
 */
export type Prediction = (FullPrediction | SingleSymbolPrediction);

/**
 * Predictions for one STM: the pushed part of a `predictions` frame and an `observed` event.
 */
export type PredictionSet = {
  "predictions": Array<Prediction>;
  /**
   * `[]` whenever it was not computed for this request.
   */
  "future_potentials": Array<FuturePotential>;
};

/**
 * `type` of a full-path prediction: always `"prototypical"`.
 */
export type PredictionType = "prototypical";

/**
 * Reply to `observe` and `get_predictions`: predictions for the session's STM.
 */
export type Predictions = {
  "id": number;
  /**
   * The observation's id; `null` for `get_predictions`.
   */
  "unique_id"?: (string | null);
  "time": number;
  "stm_length": number;
  /**
   * `PTRN|…` when the observe auto-learned a pattern, else `null`.
   */
  "auto_learned_pattern"?: (string | null);
  "predictions": Array<Prediction>;
  "future_potentials": Array<FuturePotential>;
  /**
   * Engine time of this request, in microseconds (PROTOCOL.md §8).
   */
  "elapsed_us": number;
  /**
   * The session's event offset after this request.
   */
  "offset": number;
};

/**
 * What a client should do after a close (PROTOCOL.md §7, column "client should").
 */
export type ReconnectPolicy = ("stop" | "stop_and_ask_for_credentials" | "stop_client_bug" | "reconnect_now" | "reconnect_with_fresh_token" | "create_new_session" | "reconnect_with_backoff" | "reconnect_with_longer_backoff");

/**
 * A fresh token for the same subject, sent after `token_expiring`; replied to with `ack`.
 */
export type Refresh = {
  "id": number;
  "token": string;
};

/**
 * The last event a reconnecting client saw.
 */
export type Resume = {
  "epoch": string;
  "offset": number;
};

/**
 * One observation's outcome inside `sequence_result`.
 */
export type SequenceItem = {
  "status": string;
  "sequence_position": number;
  "stm_length": number;
  "time": number;
  "unique_id": string;
  "auto_learned_pattern"?: (string | null);
};

/**
 * Reply to `observe_sequence`: the REST `ObservationSequenceResult` fields plus the
 * predictions for the final STM.
 */
export type SequenceResult = {
  "id": number;
  "status": string;
  "processor_id": string;
  "observations_processed": number;
  "initial_stm_length": number;
  "final_stm_length": number;
  "results": Array<SequenceItem>;
  "auto_learned_patterns": Array<string>;
  "final_learned_pattern"?: (string | null);
  "isolated": boolean;
  "predictions": Array<Prediction>;
  "future_potentials"?: Array<FuturePotential>;
  /**
   * The session's event offset after the sequence.
   */
  "offset": number;
};

/**
 * Every frame the server may send.
 */
export type ServerFrame = (Welcome & {
  "type": "welcome";
} | Predictions & {
  "type": "predictions";
} | SequenceResult & {
  "type": "sequence_result";
} | Learned & {
  "type": "learned";
} | Stm & {
  "type": "stm";
} | Ack & {
  "type": "ack";
} | ConfigReply & {
  "type": "config";
} | Pong & {
  "type": "pong";
} | Event & {
  "type": "event";
} | TokenExpiring & {
  "type": "token_expiring";
} | Error & {
  "type": "error";
});

/**
 * Which server answered.
 */
export type ServerInfo = {
  "version": string;
  "instance": string;
};

/**
 * The single-symbol path's flat object (ALGORITHM.md §4.9): flat symbol lists, no `type`.
 */
export type SingleSymbolPrediction = {
  "name": string;
  "pattern_data": Array<Array<string>>;
  "length": number;
  "frequency": number;
  "emotives": { [key: string]: number };
  "matches": Array<string>;
  "missing": Array<string>;
  "present": Array<string>;
  "past": Array<string>;
  "future": Array<string>;
  "extras": Array<string>;
  "similarity": number;
  "evidence": number;
  "confidence": number;
  "snr": number;
  /**
   * An integer on this path (upstream emits `0`, not `0.0`).
   */
  "fragmentation": number;
  "anomalies": Array<Anomaly>;
  "weighted_similarity"?: (number | null);
  "weighted_evidence"?: (number | null);
  "weighted_confidence"?: (number | null);
  "weighted_snr"?: (number | null);
  "potential": number;
};

/**
 * Reply to `get_stm`.
 */
export type Stm = {
  "id": number;
  "stm": Array<Array<string>>;
  "length": number;
};

/**
 * `data` of a `stm_cleared` event.
 */
export type StmCleared = {
  "knowledge_base_cleared"?: (boolean | null);
};

/**
 * Sent 30 s before the token's `exp`; answer with `refresh`.
 */
export type TokenExpiring = {
  "in_s": number;
};

/**
 * Stop receiving a watched session's events.
 */
export type Unwatch = {
  "id": number;
  "session_id": string;
};

/**
 * Receive `event` frames of another session (scope `watch`, or the same subject).
 */
export type Watch = {
  "id": number;
  "session_id": string;
};

/**
 * Reply to `hello`: the bound session and the connection's limits.
 */
export type Welcome = {
  "id": number;
  "session_id": string;
  "node_id": string;
  "stm": Array<Array<string>>;
  /**
   * The session's effective config.
   */
  "config": { [key: string]: unknown };
  /**
   * Event stream position: the session's epoch and its last offset.
   */
  "epoch": string;
  "offset": number;
  "limits": Limits;
  "server": ServerInfo;
  /**
   * Seconds until the credential expires; absent when it never does (API keys, auth off).
   */
  "token_expires_in_s"?: (number | null);
  /**
   * Present when `hello.resume` was sent: whether the missed events were replayed.
   */
  "recovered"?: (boolean | null);
};

/** PROTOCOL.md §7: close code number → name and what the client should do. */
export const CLOSE_CODES = {
  1000: { name: "normal", policy: "stop", reason: "normal" },
  4000: { name: "server_shutting_down", policy: "reconnect_now", reason: "server shutting down" },
  4001: { name: "unauthorized", policy: "stop_and_ask_for_credentials", reason: "unauthorized" },
  4002: { name: "token_expired", policy: "reconnect_with_fresh_token", reason: "token expired" },
  4003: { name: "forbidden", policy: "stop", reason: "forbidden" },
  4004: { name: "session_not_found", policy: "create_new_session", reason: "session not found" },
  4008: { name: "slow_consumer", policy: "reconnect_with_backoff", reason: "slow consumer" },
  4009: { name: "frame_too_large", policy: "stop_client_bug", reason: "frame too large" },
  4012: { name: "no_pong", policy: "reconnect_with_backoff", reason: "no pong" },
  4029: { name: "rate_limit_abuse", policy: "reconnect_with_longer_backoff", reason: "rate limit abuse" },
  4400: { name: "protocol_error", policy: "stop_client_bug", reason: "protocol error" },
} as const satisfies Record<number, { name: CloseCode; policy: ReconnectPolicy; reason: string }>;

/** Every wire error code. */
export const ERROR_CODES = [
  "KATO_VALIDATION_ERROR",
  "KATO_UNAUTHORIZED",
  "KATO_FORBIDDEN",
  "KATO_SESSION_NOT_FOUND",
  "KATO_SESSION_EXPIRED",
  "KATO_RATE_LIMITED",
  "KATO_DATABASE_ERROR",
  "KATO_CIRCUIT_OPEN",
  "KATO_PAYLOAD_TOO_LARGE",
  "KATO_NOT_FOUND",
  "KATO_METHOD_NOT_ALLOWED",
  "KATO_CAPACITY",
  "KATO_INTERNAL",
] as const satisfies readonly ErrorCode[];
