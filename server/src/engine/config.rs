//! Typed session configuration of the KATO engine (ALGORITHM.md §5, API.md §1.4): defaults, the
//! per-session overrides, how they merge, and the validation of `POST /config` and create bodies.
//! Pure data and rules: no IO, no environment reads, and no dependency on other engine modules.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// A wire name that is not one of the accepted values of a config enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownName {
    /// Which enum was being parsed (`"rank_sort_algo"`, `"filter"`, …).
    pub kind: &'static str,
    /// The rejected input.
    pub value: String,
}

/// Why a config body was refused. Nothing of a refused body is applied (ALGORITHM.md §5.1 step 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The body (or its `config` member) is not a JSON object; the REST layer answers 422.
    #[error("configuration must be a JSON object")]
    NotAnObject,
    /// One message per invalid field; the REST layer answers 400
    /// `{"error":"Configuration validation failed","validation_errors":{field: message}}`.
    #[error("Configuration validation failed: {}", list_fields(.0))]
    Validation(BTreeMap<String, String>),
}

fn list_fields(errors: &BTreeMap<String, String>) -> String {
    errors
        .iter()
        .map(|(field, message)| format!("{field}: {message}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Declares a config enum whose wire names are fixed strings: the enum, `ALL`, `as_str`,
/// `FromStr`, `Display`, and serde under exactly those names.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident as $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $wire)] $variant, )+
        }

        impl $name {
            /// Every value, in the order the spec lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $wire, )+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            /// Exact, case-sensitive match on the wire name (as upstream).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $wire => Ok($name::$variant), )+
                    _ => Err(UnknownName { kind: $kind, value: s.to_owned() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// The prediction field used as the ranking key (ALGORITHM.md §4.8). Honoured per session (D2).
    /// `entropy` is deliberately not a valid key (§5.1).
    pub enum RankSortAlgo as "rank_sort_algo" {
        Potential => "potential",
        Similarity => "similarity",
        Evidence => "evidence",
        Confidence => "confidence",
        Snr => "snr",
        Fragmentation => "fragmentation",
        Frequency => "frequency",
        NormalizedEntropy => "normalized_entropy",
        GlobalNormalizedEntropy => "global_normalized_entropy",
        ItfdfSimilarity => "itfdf_similarity",
        Confluence => "confluence",
        PredictiveInformation => "predictive_information",
        BayesianPosterior => "bayesian_posterior",
        BayesianPrior => "bayesian_prior",
        BayesianLikelihood => "bayesian_likelihood",
        TfidfScore => "tfidf_score",
        WeightedSimilarity => "weighted_similarity",
        WeightedEvidence => "weighted_evidence",
        WeightedConfidence => "weighted_confidence",
        WeightedSnr => "weighted_snr",
    }
}

impl RankSortAlgo {
    /// `weighted_*` keys only have values when `affinity_emotive` is set, so they are only valid
    /// together with it (Decision D7, QUIRK-19).
    pub fn is_weighted(self) -> bool {
        matches!(
            self,
            RankSortAlgo::WeightedSimilarity
                | RankSortAlgo::WeightedEvidence
                | RankSortAlgo::WeightedConfidence
                | RankSortAlgo::WeightedSnr
        )
    }
}

wire_enum! {
    /// What happens to the STM after an auto-learn (ALGORITHM.md §2.2).
    pub enum StmMode as "stm_mode" {
        /// The whole STM is learned and then emptied.
        Clear => "CLEAR",
        /// The STM keeps its last `max_pattern_length - 1` events (a sliding window).
        Rolling => "ROLLING",
    }
}

impl StmMode {
    /// The POST /config reading of a string: any value other than exactly `"ROLLING"` (case
    /// matters, as upstream) is silently normalised to `CLEAR` instead of rejected (§5.1).
    pub fn parse_lenient(s: &str) -> StmMode {
        s.parse().unwrap_or(StmMode::Clear)
    }
}

wire_enum! {
    /// One stage of the candidate filter pipeline (ALGORITHM.md §4.2).
    pub enum FilterKind as "filter" {
        /// Pattern length within `[n·length_min_ratio, n·length_max_ratio]`.
        Length => "length",
        /// Token-set Jaccard against the state.
        Jaccard => "jaccard",
        /// MinHash/LSH estimated Jaccard.
        Minhash => "minhash",
        /// Bloom pre-filter (a pass-through in practice).
        Bloom => "bloom",
        /// Similarity ≥ recall_threshold (redundant with §4.3).
        Rapidfuzz => "rapidfuzz",
    }
}

wire_enum! {
    /// Vector indexer named by the config (ALGORITHM.md §5.2). Only the exact k-NN of Decision D5
    /// is implemented; the other names are accepted for compatibility and behave the same.
    pub enum IndexerType as "indexer_type" {
        Vi => "VI",
        Lsh => "LSH",
        Annoy => "ANNOY",
        Faiss => "FAISS",
    }
}

/// The effective configuration of one session: every parameter of ALGORITHM.md §5.2.
///
/// Per Decision D2 every field is honoured per session, on observe-time predictions, GET
/// predictions and learn alike; the server-wide values are only the defaults of new sessions.
/// `Default` is the §5.2 table. Deserialising fills missing fields from the defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineConfig {
    /// Auto-learn trigger: when the STM reaches this many events it is learned (§2.2).
    /// Default 0 = auto-learn off (manual learn only). Range ≥ 0.
    pub max_pattern_length: usize,
    /// What the STM keeps after an auto-learn (§2.2). Default `CLEAR`.
    pub stm_mode: StmMode,
    /// Size of the per-pattern emotive rolling window (§3.3.3); not about the STM.
    /// Default 5. Range 1–100.
    pub persistence: u32,
    /// Minimum similarity a candidate needs to become a prediction, inclusive (§4.3).
    /// Default 0.1. Range 0.0–1.0 (0 keeps every candidate, even similarity 0).
    pub recall_threshold: f64,
    /// How many predictions are returned after ranking (§4.8). Default 100. Range 1–10000.
    pub max_predictions: usize,
    /// Token-level (true) or character-level (false) similarity (§4.3). Default true.
    pub use_token_matching: bool,
    /// Whether the strings of an observed event are sorted (§1.3). Default true. Set to
    /// `use_token_matching` when an update gives only the latter (§5.1 auto-toggle).
    pub sort_symbols: bool,
    /// Whether observe computes (and caches) predictions (§4.1). Default true.
    pub process_predictions: bool,
    /// Fuzzy token matching threshold (§4.3); 0 = exact tokens only. Default 0.0. Range 0.0–1.0.
    pub fuzzy_token_threshold: f64,
    /// The ranking key (§4.8). Default `potential`. A `weighted_*` key needs `affinity_emotive` (D7).
    pub rank_sort_algo: RankSortAlgo,
    /// Emotive whose symbol affinities weight the similarity (§4.7.7, Decision D7); `None` = off.
    /// Default `None`. Any non-empty emotive name.
    pub affinity_emotive: Option<String>,
    /// Vector indexer name (§5.2). Default `VI`. One of VI, LSH, ANNOY, FAISS.
    pub indexer_type: IndexerType,
    /// Candidate filters applied in order (§4.2). Default `[]` = every pattern is a candidate.
    pub filter_pipeline: Vec<FilterKind>,
    /// Length filter lower bound as a fraction of the state length (§4.2). Default 0.5.
    /// Range 0.0–1.0; the filter treats a configured 0 as the default.
    pub length_min_ratio: f64,
    /// Length filter upper bound as a multiple of the state length (§4.2). Default 2.0. Range ≥ 1.0.
    pub length_max_ratio: f64,
    /// Jaccard filter: minimum intersection-over-union (§4.2). Default 0.3. Range 0.0–1.0.
    pub jaccard_threshold: f64,
    /// Jaccard filter: minimum number of shared tokens (§4.2). Default 2. Range ≥ 1.
    pub jaccard_min_overlap: usize,
    /// MinHash filter: minimum estimated Jaccard (§4.2). Default 0.7. Range 0.0–1.0.
    pub minhash_threshold: f64,
    /// MinHash LSH bands (§5.2). Default 20. Range 1–100. In the effective config
    /// `minhash_bands × minhash_rows == minhash_num_hashes` always holds where it can (see
    /// [`ConfigOverrides::apply_to`]).
    pub minhash_bands: u32,
    /// MinHash LSH rows per band (§5.2). Default 5. Range 1–20.
    pub minhash_rows: u32,
    /// MinHash signature size (§5.2). Default 100. Range 10–256.
    pub minhash_num_hashes: u32,
    /// Bloom filter false-positive rate (§5.2); unused in practice. Default 0.01. Range 0.0001–0.1.
    pub bloom_false_positive_rate: f64,
    /// Safety limit of candidates per filter stage (§5.2); logging only. Default 100000. Range ≥ 100.
    pub max_candidates_per_stage: usize,
    /// Whether filter stages log timings and counts (§5.2); logging only. Default true.
    pub enable_filter_metrics: bool,
}

impl Default for EngineConfig {
    /// The defaults of ALGORITHM.md §5.2 (upstream's env defaults).
    fn default() -> Self {
        EngineConfig {
            max_pattern_length: 0,
            stm_mode: StmMode::Clear,
            persistence: 5,
            recall_threshold: 0.1,
            max_predictions: 100,
            use_token_matching: true,
            sort_symbols: true,
            process_predictions: true,
            fuzzy_token_threshold: 0.0,
            rank_sort_algo: RankSortAlgo::Potential,
            affinity_emotive: None,
            indexer_type: IndexerType::Vi,
            filter_pipeline: Vec::new(),
            length_min_ratio: 0.5,
            length_max_ratio: 2.0,
            jaccard_threshold: 0.3,
            jaccard_min_overlap: 2,
            minhash_threshold: 0.7,
            minhash_bands: 20,
            minhash_rows: 5,
            minhash_num_hashes: 100,
            bloom_false_positive_rate: 0.01,
            max_candidates_per_stage: 100_000,
            enable_filter_metrics: true,
        }
    }
}

impl EngineConfig {
    /// Every config key, in the order GET /sessions/{id}/config serves them (upstream's
    /// `get_effective_config` order, with the length-filter ratios after `filter_pipeline`).
    pub const KEYS: [&'static str; 24] = [
        "max_pattern_length",
        "persistence",
        "recall_threshold",
        "indexer_type",
        "max_predictions",
        "sort_symbols",
        "process_predictions",
        "use_token_matching",
        "fuzzy_token_threshold",
        "stm_mode",
        "rank_sort_algo",
        "affinity_emotive",
        "filter_pipeline",
        "length_min_ratio",
        "length_max_ratio",
        "jaccard_threshold",
        "jaccard_min_overlap",
        "minhash_threshold",
        "minhash_bands",
        "minhash_rows",
        "minhash_num_hashes",
        "bloom_false_positive_rate",
        "max_candidates_per_stage",
        "enable_filter_metrics",
    ];

    /// The effective config as GET /sessions/{id}/config and `SessionResponse.session_config`
    /// serve it (API.md §1.4): every key in [`Self::KEYS`] order, except that
    /// `fuzzy_token_threshold` appears only once set (a session override, or a non-zero server
    /// default) and `affinity_emotive` only while it has a value (upstream has neither in its
    /// defaults).
    pub fn to_json(&self, overrides: &ConfigOverrides) -> Map<String, Value> {
        let mut map = self.all_keys_json();
        if overrides.fuzzy_token_threshold.is_none() && self.fuzzy_token_threshold == 0.0 {
            map.shift_remove("fuzzy_token_threshold");
        }
        if self.affinity_emotive.is_none() {
            map.shift_remove("affinity_emotive");
        }
        map
    }

    /// Checks this config against the same rules as a create/update body, e.g. for server-wide
    /// defaults read from a settings file. A `minhash_bands` that does not fit
    /// `minhash_rows × minhash_num_hashes` is not an error (it is recomputed, §5.2).
    pub fn validate(&self) -> Result<(), ConfigError> {
        parse_fields(&self.all_keys_json(), self).map(|_| ())
    }

    /// Every key, `affinity_emotive` as `null` when unset.
    fn all_keys_json(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("max_pattern_length".into(), self.max_pattern_length.into());
        map.insert("persistence".into(), self.persistence.into());
        map.insert("recall_threshold".into(), self.recall_threshold.into());
        map.insert("indexer_type".into(), self.indexer_type.as_str().into());
        map.insert("max_predictions".into(), self.max_predictions.into());
        map.insert("sort_symbols".into(), self.sort_symbols.into());
        map.insert(
            "process_predictions".into(),
            self.process_predictions.into(),
        );
        map.insert("use_token_matching".into(), self.use_token_matching.into());
        map.insert(
            "fuzzy_token_threshold".into(),
            self.fuzzy_token_threshold.into(),
        );
        map.insert("stm_mode".into(), self.stm_mode.as_str().into());
        map.insert("rank_sort_algo".into(), self.rank_sort_algo.as_str().into());
        map.insert(
            "affinity_emotive".into(),
            self.affinity_emotive.clone().into(),
        );
        map.insert(
            "filter_pipeline".into(),
            self.filter_pipeline
                .iter()
                .map(|filter| Value::from(filter.as_str()))
                .collect(),
        );
        map.insert("length_min_ratio".into(), self.length_min_ratio.into());
        map.insert("length_max_ratio".into(), self.length_max_ratio.into());
        map.insert("jaccard_threshold".into(), self.jaccard_threshold.into());
        map.insert(
            "jaccard_min_overlap".into(),
            self.jaccard_min_overlap.into(),
        );
        map.insert("minhash_threshold".into(), self.minhash_threshold.into());
        map.insert("minhash_bands".into(), self.minhash_bands.into());
        map.insert("minhash_rows".into(), self.minhash_rows.into());
        map.insert("minhash_num_hashes".into(), self.minhash_num_hashes.into());
        map.insert(
            "bloom_false_positive_rate".into(),
            self.bloom_false_positive_rate.into(),
        );
        map.insert(
            "max_candidates_per_stage".into(),
            self.max_candidates_per_stage.into(),
        );
        map.insert(
            "enable_filter_metrics".into(),
            self.enable_filter_metrics.into(),
        );
        map
    }
}

/// The values one session sets over the server defaults: `None` = "use the default".
///
/// Produced only by [`parse_update`] / [`parse_create`] (so every value is in range), merged
/// with [`ConfigOverrides::merge`], persisted by the session store through serde (unset fields
/// are omitted), and turned into the effective config by [`ConfigOverrides::apply_to`].
/// Each field means the same-named [`EngineConfig`] field, with the same range.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_pattern_length: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stm_mode: Option<StmMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recall_threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_predictions: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_token_matching: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_symbols: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_predictions: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuzzy_token_threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_sort_algo: Option<RankSortAlgo>,
    /// `Some(Some(name))` sets the emotive, `Some(None)` is an explicit clear (JSON `null`, which
    /// also hides a server-wide default), `None` leaves the default.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "explicit_null"
    )]
    pub affinity_emotive: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indexer_type: Option<IndexerType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_pipeline: Option<Vec<FilterKind>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length_min_ratio: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length_max_ratio: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jaccard_threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jaccard_min_overlap: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minhash_threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minhash_bands: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minhash_rows: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minhash_num_hashes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bloom_false_positive_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_candidates_per_stage: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_filter_metrics: Option<bool>,
}

/// Keeps a present `null` as `Some(None)` (serde's default would fold it into `None`).
fn explicit_null<'de, D>(deserializer: D) -> Result<Option<Option<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    Option::<String>::deserialize(deserializer).map(Some)
}

/// Runs `$body!(field)` for every field of [`ConfigOverrides`] (all but `affinity_emotive` share
/// the plain "Some replaces" rule).
macro_rules! for_each_plain_field {
    ($body:ident) => {
        $body!(max_pattern_length);
        $body!(stm_mode);
        $body!(persistence);
        $body!(recall_threshold);
        $body!(max_predictions);
        $body!(use_token_matching);
        $body!(sort_symbols);
        $body!(process_predictions);
        $body!(fuzzy_token_threshold);
        $body!(rank_sort_algo);
        $body!(indexer_type);
        $body!(filter_pipeline);
        $body!(length_min_ratio);
        $body!(length_max_ratio);
        $body!(jaccard_threshold);
        $body!(jaccard_min_overlap);
        $body!(minhash_threshold);
        $body!(minhash_bands);
        $body!(minhash_rows);
        $body!(minhash_num_hashes);
        $body!(bloom_false_positive_rate);
        $body!(max_candidates_per_stage);
        $body!(enable_filter_metrics);
    };
}

impl ConfigOverrides {
    /// True when nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self == &ConfigOverrides::default()
    }

    /// The effective config: each set value replaces the default (§5: "session override if set,
    /// else system default").
    ///
    /// Then the MinHash shape rule of §5.2: if `bands × rows ≠ num_hashes`, bands :=
    /// `num_hashes / rows` (integer division), clamped into the bands range 1–100 (our choice:
    /// 10 hashes over 20 rows would otherwise give 0 bands, 256 over 1 row 256 bands). So a
    /// session that changes only `minhash_bands` sees it recomputed back from rows and hashes.
    pub fn apply_to(&self, defaults: &EngineConfig) -> EngineConfig {
        let mut config = defaults.clone();
        macro_rules! replace {
            ($field:ident) => {
                if let Some(value) = &self.$field {
                    config.$field = value.clone();
                }
            };
        }
        for_each_plain_field!(replace);
        if let Some(affinity_emotive) = &self.affinity_emotive {
            config.affinity_emotive = affinity_emotive.clone();
        }

        let (rows, hashes) = (config.minhash_rows.max(1), config.minhash_num_hashes);
        if config.minhash_bands.checked_mul(rows) != Some(hashes) {
            config.minhash_bands = (hashes / rows).clamp(1, 100);
        }
        config
    }

    /// Folds a later accepted update into these overrides: every field the newer one sets wins
    /// (including an explicit `affinity_emotive` clear), the others are kept.
    pub fn merge(&mut self, newer: ConfigOverrides) {
        macro_rules! take {
            ($field:ident) => {
                if newer.$field.is_some() {
                    self.$field = newer.$field;
                }
            };
        }
        for_each_plain_field!(take);
        if newer.affinity_emotive.is_some() {
            self.affinity_emotive = newer.affinity_emotive;
        }
    }

    /// Decision D7: ranking by a `weighted_*` key needs an `affinity_emotive`, either already in
    /// `current` (the session's effective config) or set by these overrides; and clearing the
    /// emotive while such a key stays active is refused too. Only checked when these overrides
    /// touch one of the two fields, so an update is never blamed for the server defaults.
    pub fn validate_against(&self, current: &EngineConfig) -> Result<(), ConfigError> {
        let mut errors = BTreeMap::new();
        check_affinity_for_rank(self, current, &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Validation(errors))
        }
    }
}

fn check_affinity_for_rank(
    overrides: &ConfigOverrides,
    current: &EngineConfig,
    errors: &mut BTreeMap<String, String>,
) {
    let rank = overrides.rank_sort_algo.unwrap_or(current.rank_sort_algo);
    let affinity_set = match &overrides.affinity_emotive {
        Some(value) => value.is_some(),
        None => current.affinity_emotive.is_some(),
    };
    if !rank.is_weighted() || affinity_set {
        return;
    }
    if overrides.rank_sort_algo.is_some() {
        errors.insert(
            "rank_sort_algo".into(),
            format!(
                "{rank} ranks by affinity-weighted values, which need affinity_emotive; \
                 set affinity_emotive (in the session or in the same update) or pick an \
                 unweighted key"
            ),
        );
    } else if overrides.affinity_emotive.is_some() {
        errors.insert(
            "affinity_emotive".into(),
            format!(
                "Cannot clear affinity_emotive while rank_sort_algo is {rank}; change \
                 rank_sort_algo in the same update"
            ),
        );
    }
}

/// POST /sessions/{id}/config (ALGORITHM.md §5.1, API.md §1.2 row 10), validated against the
/// session's current effective config (needed for Decision D7).
///
/// * The body is `{"config": {...}}` or a flat object; when a `config` member exists only it is
///   read (as upstream's `request_data.get('config', request_data)`). Not an object →
///   [`ConfigError::NotAnObject`].
/// * Every field is checked; any failure → [`ConfigError::Validation`] naming every bad field,
///   and nothing is applied. Unknown keys are ignored.
/// * `sort` is an alias of `sort_symbols` (upstream type-checks `sort` but then drops it; we
///   apply it; both given with different values is an error). When `use_token_matching` is given
///   and neither `sort_symbols` nor `sort` is, `sort_symbols := use_token_matching` (auto-toggle).
///
/// Deviations from upstream, each on purpose:
/// * (a) Python's "a bool is an int" is not reproduced: `true` for an integer field is rejected.
///   Integer fields take JSON integers only (`3.0` is rejected, and the message says so).
/// * (b) The fields upstream leaves unchecked on this endpoint (`fuzzy_token_threshold`,
///   `affinity_emotive`, `filter_pipeline`, the filter parameters, `sort_symbols`) get the
///   create-time ranges, because a bad value would otherwise break predictions later.
/// * (c) Decision D7, see [`ConfigOverrides::validate_against`].
/// * `null` is rejected for every field except `affinity_emotive`, where it clears the emotive
///   (upstream: `null` fails the checked fields and silently resets the unchecked ones).
/// * `affinity_emotive: ""` is rejected (upstream would store it and treat it as off).
pub fn parse_update(body: &Value, current: &EngineConfig) -> Result<ConfigOverrides, ConfigError> {
    let object = body.as_object().ok_or(ConfigError::NotAnObject)?;
    let fields = match object.get("config") {
        Some(wrapped) => wrapped.as_object().ok_or(ConfigError::NotAnObject)?,
        None => object,
    };
    parse_fields(fields, current)
}

/// The `config` of POST /sessions (API.md §1.3), validated against the server defaults the new
/// session starts from. Absent or `null` → no overrides; anything else but an object →
/// [`ConfigError::NotAnObject`]. Same rules as [`parse_update`], auto-toggle included (upstream
/// has no auto-toggle at creation; we apply it so `use_token_matching: false` gives an unsorted
/// session either way). Per Decision D10 an invalid config is an error, not silently dropped.
pub fn parse_create(
    config: Option<&Value>,
    defaults: &EngineConfig,
) -> Result<ConfigOverrides, ConfigError> {
    match config {
        None | Some(Value::Null) => Ok(ConfigOverrides::default()),
        Some(Value::Object(fields)) => parse_fields(fields, defaults),
        Some(_) => Err(ConfigError::NotAnObject),
    }
}

const UNIT_RANGE: &str = "Must be a number between 0.0 and 1.0";
const BOOLEAN: &str = "Must be a boolean (true/false)";

/// Reads one key of the body: `None` when absent, the error recorded when invalid.
struct FieldReader<'a> {
    fields: &'a Map<String, Value>,
    errors: BTreeMap<String, String>,
}

impl<'a> FieldReader<'a> {
    fn read<T>(
        &mut self,
        key: &str,
        parse: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.fields.get(key)?;
        match parse(value) {
            Ok(parsed) => Some(parsed),
            Err(message) => {
                self.errors.insert(key.to_owned(), message);
                None
            }
        }
    }
}

fn parse_fields(
    fields: &Map<String, Value>,
    current: &EngineConfig,
) -> Result<ConfigOverrides, ConfigError> {
    let mut reader = FieldReader {
        fields,
        errors: BTreeMap::new(),
    };
    let r = &mut reader;

    // ALGORITHM.md §5.1 rule 4 (upstream-checked fields).
    let recall_threshold = r.read("recall_threshold", |v| number(v, 0.0..=1.0, UNIT_RANGE));
    let persistence = r.read("persistence", |v| {
        integer(v, 1..=100, "Must be an integer between 1 and 100")
    });
    let max_pattern_length = r.read("max_pattern_length", |v| {
        integer(v, 0..=u64::MAX, "Must be a non-negative integer")
    });
    let max_predictions = r.read("max_predictions", |v| {
        integer(v, 1..=10_000, "Must be an integer between 1 and 10000")
    });
    let indexer_type = r.read("indexer_type", |v| {
        one_of::<IndexerType>(v, "Must be one of: VI, LSH, ANNOY, FAISS")
    });
    let stm_mode = r.read("stm_mode", |v| match v {
        Value::String(s) => Ok(StmMode::parse_lenient(s)),
        other => Err(format!("Must be a string; {}", got(other))),
    });
    let process_predictions = r.read("process_predictions", boolean);
    let use_token_matching = r.read("use_token_matching", boolean);
    let rank_sort_algo = r.read("rank_sort_algo", |v| {
        one_of::<RankSortAlgo>(v, &format!("Must be one of: {}", names(RankSortAlgo::ALL)))
    });
    let sort = r.read("sort", boolean);
    let sort_symbols = r.read("sort_symbols", boolean);

    // Deviation (b): the create-time ranges for the fields upstream leaves unchecked on update.
    let fuzzy_token_threshold = r.read("fuzzy_token_threshold", |v| {
        number(
            v,
            0.0..=1.0,
            "Must be a number between 0.0 and 1.0 (0 disables fuzzy matching)",
        )
    });
    let affinity_emotive = r.read("affinity_emotive", |v| match v {
        Value::Null => Ok(None),
        Value::String(s) if !s.is_empty() => Ok(Some(s.clone())),
        other => Err(format!(
            "Must be a non-empty string (an emotive name) or null to clear it; {}",
            got(other)
        )),
    });
    let filter_pipeline = r.read("filter_pipeline", filter_list);
    let length_min_ratio = r.read("length_min_ratio", |v| number(v, 0.0..=1.0, UNIT_RANGE));
    let length_max_ratio = r.read("length_max_ratio", |v| {
        number(v, 1.0..=f64::MAX, "Must be a number >= 1.0")
    });
    let jaccard_threshold = r.read("jaccard_threshold", |v| number(v, 0.0..=1.0, UNIT_RANGE));
    let jaccard_min_overlap = r.read("jaccard_min_overlap", |v| {
        integer(v, 1..=u64::MAX, "Must be an integer >= 1")
    });
    let minhash_threshold = r.read("minhash_threshold", |v| number(v, 0.0..=1.0, UNIT_RANGE));
    let minhash_bands = r.read("minhash_bands", |v| {
        integer(v, 1..=100, "Must be an integer between 1 and 100")
    });
    let minhash_rows = r.read("minhash_rows", |v| {
        integer(v, 1..=20, "Must be an integer between 1 and 20")
    });
    let minhash_num_hashes = r.read("minhash_num_hashes", |v| {
        integer(v, 10..=256, "Must be an integer between 10 and 256")
    });
    let bloom_false_positive_rate = r.read("bloom_false_positive_rate", |v| {
        number(v, 0.0001..=0.1, "Must be a number between 0.0001 and 0.1")
    });
    let max_candidates_per_stage = r.read("max_candidates_per_stage", |v| {
        integer(v, 100..=u64::MAX, "Must be an integer >= 100")
    });
    let enable_filter_metrics = r.read("enable_filter_metrics", boolean);

    // `sort` is an alias of `sort_symbols`; two different answers in one body is an error.
    let sort_symbols = match (sort, sort_symbols) {
        (Some(alias), Some(name)) if alias != name => {
            r.errors.insert(
                "sort".into(),
                "Conflicts with sort_symbols (sort is an alias of sort_symbols)".into(),
            );
            None
        }
        (alias, name) => name.or(alias),
    };
    // §5.1 step 2, the auto-toggle: only when neither spelling of sort_symbols was given.
    let sort_given = fields.contains_key("sort") || fields.contains_key("sort_symbols");
    let sort_symbols = match (sort_symbols, use_token_matching) {
        (None, Some(token_matching)) if !sort_given => Some(token_matching),
        (value, _) => value,
    };

    let overrides = ConfigOverrides {
        max_pattern_length,
        stm_mode,
        persistence,
        recall_threshold,
        max_predictions,
        use_token_matching,
        sort_symbols,
        process_predictions,
        fuzzy_token_threshold,
        rank_sort_algo,
        affinity_emotive,
        indexer_type,
        filter_pipeline,
        length_min_ratio,
        length_max_ratio,
        jaccard_threshold,
        jaccard_min_overlap,
        minhash_threshold,
        minhash_bands,
        minhash_rows,
        minhash_num_hashes,
        bloom_false_positive_rate,
        max_candidates_per_stage,
        enable_filter_metrics,
    };

    // Deviation (c), Decision D7 — skipped when either field is itself invalid, so a bad value
    // is reported once, under its own name.
    let mut errors = reader.errors;
    if !errors.contains_key("rank_sort_algo") && !errors.contains_key("affinity_emotive") {
        check_affinity_for_rank(&overrides, current, &mut errors);
    }
    if errors.is_empty() {
        Ok(overrides)
    } else {
        Err(ConfigError::Validation(errors))
    }
}

/// A JSON number (integer or float) inside `range`; strings and booleans are refused.
fn number(value: &Value, range: RangeInclusive<f64>, requirement: &str) -> Result<f64, String> {
    match value.as_f64() {
        Some(n) if value.is_number() && range.contains(&n) => Ok(n),
        _ => Err(format!("{requirement}; {}", got(value))),
    }
}

/// A JSON integer inside `range`, converted to the field's type. Floats (even `3.0`), booleans
/// and strings are refused (deviation (a)).
fn integer<T: TryFrom<u64>>(
    value: &Value,
    range: RangeInclusive<u64>,
    requirement: &str,
) -> Result<T, String> {
    let refuse = || format!("{requirement}; {}", got(value));
    match value {
        Value::Number(n) if n.is_f64() => Err(format!(
            "{requirement}; got {n}, which is not an integer (write it without a decimal point)"
        )),
        Value::Number(n) => n
            .as_u64()
            .filter(|n| range.contains(n))
            .and_then(|n| T::try_from(n).ok())
            .ok_or_else(refuse),
        _ => Err(refuse()),
    }
}

fn boolean(value: &Value) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| format!("{BOOLEAN}; {}", got(value)))
}

fn one_of<T: FromStr>(value: &Value, requirement: &str) -> Result<T, String> {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{requirement}; {}", got(value)))
}

fn filter_list(value: &Value) -> Result<Vec<FilterKind>, String> {
    let valid = names(FilterKind::ALL);
    let items = match value {
        Value::Array(items) if items.iter().all(Value::is_string) => items,
        other => {
            return Err(format!(
                "Must be a list of filter names ({valid}); {}",
                got(other)
            ))
        }
    };
    let mut pipeline = Vec::with_capacity(items.len());
    let mut unknown = Vec::new();
    for name in items.iter().filter_map(Value::as_str) {
        match name.parse::<FilterKind>() {
            Ok(filter) => pipeline.push(filter),
            Err(_) => unknown.push(quoted(name)),
        }
    }
    if unknown.is_empty() {
        Ok(pipeline)
    } else {
        Err(format!(
            "Unknown filter(s): {}. Valid filters: {valid}",
            unknown.join(", ")
        ))
    }
}

fn names<T: fmt::Display>(all: &[T]) -> String {
    all.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The offending value for a message: short, typed where the type is the problem.
fn got(value: &Value) -> String {
    match value {
        Value::Null => "got null".into(),
        Value::Bool(b) => format!("got {b} (a boolean)"),
        Value::Number(n) => format!("got {n}"),
        Value::String(s) => format!("got {} (a string)", quoted(s)),
        Value::Array(_) => "got a list".into(),
        Value::Object(_) => "got an object".into(),
    }
}

/// JSON-quoted, cut to 40 characters so a message never echoes a huge input.
fn quoted(s: &str) -> String {
    const MAX_CHARS: usize = 40;
    match s.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", Value::from(&s[..cut])),
        None => Value::from(s).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn update(body: Value) -> Result<ConfigOverrides, ConfigError> {
        parse_update(&body, &EngineConfig::default())
    }

    fn errors_of(result: Result<ConfigOverrides, ConfigError>) -> BTreeMap<String, String> {
        match result {
            Err(ConfigError::Validation(errors)) => errors,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    /// JSON equality that treats `1` and `1.0` as the same number.
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            _ => a == b,
        }
    }

    #[test]
    fn every_rule_accepts_its_boundaries_and_rejects_just_outside() {
        // (field, value, accepted) — one row per case; ALGORITHM.md §5.1 and §5.2.
        let cases: &[(&str, Value, bool)] = &[
            ("recall_threshold", json!(0), true),
            ("recall_threshold", json!(1), true),
            ("recall_threshold", json!(0.0), true),
            ("recall_threshold", json!(1.0), true),
            ("recall_threshold", json!(0.5), true),
            ("recall_threshold", json!(-0.01), false),
            ("recall_threshold", json!(1.01), false),
            ("recall_threshold", json!("0.5"), false),
            ("recall_threshold", json!(true), false),
            ("recall_threshold", json!(null), false),
            ("persistence", json!(0), false),
            ("persistence", json!(1), true),
            ("persistence", json!(100), true),
            ("persistence", json!(101), false),
            ("persistence", json!(-1), false),
            ("persistence", json!("5"), false),
            ("max_pattern_length", json!(0), true),
            ("max_pattern_length", json!(1), true),
            ("max_pattern_length", json!(1_000_000), true),
            ("max_pattern_length", json!(-1), false),
            ("max_predictions", json!(0), false),
            ("max_predictions", json!(1), true),
            ("max_predictions", json!(10000), true),
            ("max_predictions", json!(10001), false),
            ("indexer_type", json!("VI"), true),
            ("indexer_type", json!("LSH"), true),
            ("indexer_type", json!("ANNOY"), true),
            ("indexer_type", json!("FAISS"), true),
            ("indexer_type", json!("vi"), false),
            ("indexer_type", json!("HNSW"), false),
            ("indexer_type", json!(1), false),
            ("stm_mode", json!("CLEAR"), true),
            ("stm_mode", json!("ROLLING"), true),
            ("stm_mode", json!(1), false),
            ("stm_mode", json!(null), false),
            ("sort", json!(true), true),
            ("sort", json!(false), true),
            ("sort", json!("true"), false),
            ("sort", json!(1), false),
            ("sort_symbols", json!(false), true),
            ("sort_symbols", json!(0), false),
            ("process_predictions", json!(false), true),
            ("process_predictions", json!("no"), false),
            ("use_token_matching", json!(false), true),
            ("use_token_matching", json!(null), false),
            ("enable_filter_metrics", json!(false), true),
            ("enable_filter_metrics", json!(1), false),
            ("rank_sort_algo", json!("potential"), true),
            ("rank_sort_algo", json!("tfidf_score"), true),
            ("rank_sort_algo", json!("entropy"), false),
            ("rank_sort_algo", json!("POTENTIAL"), false),
            ("rank_sort_algo", json!(3), false),
            ("fuzzy_token_threshold", json!(0), true),
            ("fuzzy_token_threshold", json!(1), true),
            ("fuzzy_token_threshold", json!(-0.01), false),
            ("fuzzy_token_threshold", json!(1.01), false),
            ("fuzzy_token_threshold", json!("0.5"), false),
            ("affinity_emotive", json!("joy"), true),
            ("affinity_emotive", json!(null), true),
            ("affinity_emotive", json!(""), false),
            ("affinity_emotive", json!(5), false),
            ("filter_pipeline", json!([]), true),
            (
                "filter_pipeline",
                json!(["length", "jaccard", "minhash", "bloom", "rapidfuzz"]),
                true,
            ),
            ("filter_pipeline", json!(["length", "bogus"]), false),
            ("filter_pipeline", json!("length"), false),
            ("filter_pipeline", json!([1]), false),
            ("filter_pipeline", json!(null), false),
            ("length_min_ratio", json!(0), true),
            ("length_min_ratio", json!(1), true),
            ("length_min_ratio", json!(-0.01), false),
            ("length_min_ratio", json!(1.01), false),
            ("length_max_ratio", json!(1), true),
            ("length_max_ratio", json!(1000.5), true),
            ("length_max_ratio", json!(0.99), false),
            ("jaccard_threshold", json!(0), true),
            ("jaccard_threshold", json!(1), true),
            ("jaccard_threshold", json!(-0.01), false),
            ("jaccard_threshold", json!(1.01), false),
            ("jaccard_min_overlap", json!(0), false),
            ("jaccard_min_overlap", json!(1), true),
            ("minhash_threshold", json!(0), true),
            ("minhash_threshold", json!(1), true),
            ("minhash_threshold", json!(-0.01), false),
            ("minhash_threshold", json!(1.01), false),
            ("minhash_bands", json!(0), false),
            ("minhash_bands", json!(1), true),
            ("minhash_bands", json!(100), true),
            ("minhash_bands", json!(101), false),
            ("minhash_rows", json!(0), false),
            ("minhash_rows", json!(1), true),
            ("minhash_rows", json!(20), true),
            ("minhash_rows", json!(21), false),
            ("minhash_num_hashes", json!(9), false),
            ("minhash_num_hashes", json!(10), true),
            ("minhash_num_hashes", json!(256), true),
            ("minhash_num_hashes", json!(257), false),
            ("bloom_false_positive_rate", json!(0.0001), true),
            ("bloom_false_positive_rate", json!(0.1), true),
            ("bloom_false_positive_rate", json!(0.00009), false),
            ("bloom_false_positive_rate", json!(0.11), false),
            ("max_candidates_per_stage", json!(99), false),
            ("max_candidates_per_stage", json!(100), true),
        ];
        for (field, value, accepted) in cases {
            let result = update(json!({ *field: value.clone() }));
            if *accepted {
                let overrides =
                    result.unwrap_or_else(|e| panic!("{field} = {value} should pass, got {e}"));
                let stored = serde_json::to_value(&overrides).expect("serialisable");
                let key = if *field == "sort" {
                    "sort_symbols"
                } else {
                    field
                };
                assert!(
                    same(&stored[key], value),
                    "{field} = {value} stored as {}",
                    stored[key]
                );
            } else {
                let errors = errors_of(result);
                assert_eq!(
                    errors.keys().collect::<Vec<_>>(),
                    vec![field],
                    "{field} = {value}"
                );
            }
        }
    }

    #[test]
    fn booleans_and_floats_are_not_integers() {
        // (field, value, words the message must contain) — deviation (a).
        let cases: &[(&str, Value, &str)] = &[
            ("persistence", json!(true), "(a boolean)"),
            ("max_pattern_length", json!(true), "(a boolean)"),
            ("max_predictions", json!(false), "(a boolean)"),
            ("minhash_rows", json!(true), "(a boolean)"),
            ("persistence", json!(5.0), "not an integer"),
            ("max_pattern_length", json!(3.0), "not an integer"),
            ("max_predictions", json!(10.5), "not an integer"),
            ("jaccard_min_overlap", json!(2.0), "not an integer"),
            ("max_candidates_per_stage", json!(1e5), "not an integer"),
            ("persistence", json!(101), "between 1 and 100"),
            ("max_pattern_length", json!(-1), "non-negative"),
        ];
        for (field, value, words) in cases {
            let errors = errors_of(update(json!({ *field: value.clone() })));
            let message = &errors[*field];
            assert!(message.contains(words), "{field} = {value}: {message}");
        }
    }

    #[test]
    fn stm_mode_normalises_unknown_strings_to_clear() {
        let cases = [
            ("CLEAR", StmMode::Clear),
            ("ROLLING", StmMode::Rolling),
            ("rolling", StmMode::Clear),
            ("FIFO", StmMode::Clear),
            ("", StmMode::Clear),
        ];
        for (wire, expected) in cases {
            let overrides = update(json!({ "stm_mode": wire })).expect("stm_mode is lenient");
            assert_eq!(overrides.stm_mode, Some(expected), "{wire:?}");
        }
    }

    #[test]
    fn sort_symbols_follows_use_token_matching_unless_given() {
        // (body, expected sort_symbols) — §5.1 step 2 and the `sort` alias.
        let cases = [
            (json!({ "use_token_matching": false }), Some(false)),
            (json!({ "use_token_matching": true }), Some(true)),
            (
                json!({ "use_token_matching": false, "sort_symbols": true }),
                Some(true),
            ),
            (
                json!({ "use_token_matching": false, "sort": true }),
                Some(true),
            ),
            (json!({ "sort": false }), Some(false)),
            (json!({ "sort": true, "sort_symbols": true }), Some(true)),
            (json!({ "recall_threshold": 0.2 }), None),
        ];
        for (body, expected) in cases {
            let overrides = update(body.clone()).expect("valid");
            assert_eq!(overrides.sort_symbols, expected, "{body}");
        }
    }

    #[test]
    fn conflicting_sort_and_sort_symbols_are_refused() {
        let errors = errors_of(update(json!({ "sort": true, "sort_symbols": false })));
        assert!(errors["sort"].contains("Conflicts"));
    }

    #[test]
    fn wrapped_and_flat_bodies_are_the_same_and_non_objects_are_refused() {
        let flat = update(json!({ "recall_threshold": 0.5, "persistence": 7 }));
        let wrapped = update(json!({ "config": { "recall_threshold": 0.5, "persistence": 7 } }));
        assert_eq!(flat, wrapped);
        assert_eq!(flat.expect("valid").persistence, Some(7));

        // Only the `config` member is read when present.
        let only_wrapped =
            update(json!({ "config": { "persistence": 7 }, "max_predictions": 3 })).expect("valid");
        assert_eq!(only_wrapped.max_predictions, None);

        for body in [
            json!(5),
            json!("x"),
            json!([1]),
            json!(null),
            json!({ "config": 5 }),
            json!({ "config": null }),
        ] {
            assert_eq!(
                update(body.clone()),
                Err(ConfigError::NotAnObject),
                "{body}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let overrides =
            update(json!({ "foo": 1, "vector_event_mode": "x", "recall_threshold": 0.3 }))
                .expect("unknown keys are fine");
        assert_eq!(
            overrides,
            ConfigOverrides {
                recall_threshold: Some(0.3),
                ..ConfigOverrides::default()
            }
        );
        assert!(update(json!({})).expect("empty is fine").is_empty());
    }

    #[test]
    fn every_error_is_reported_together_and_nothing_applies() {
        let result = update(json!({
            "recall_threshold": 2,
            "persistence": 0,
            "max_predictions": 5,
            "indexer_type": "X",
            "minhash_bands": true,
        }));
        let errors = errors_of(result);
        assert_eq!(
            errors.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "indexer_type",
                "minhash_bands",
                "persistence",
                "recall_threshold"
            ]
        );
        let message = ConfigError::Validation(errors).to_string();
        assert!(message.starts_with("Configuration validation failed: indexer_type: "));
    }

    #[test]
    fn weighted_ranking_needs_an_affinity_emotive() {
        let plain = EngineConfig::default();
        let with_affinity = EngineConfig {
            affinity_emotive: Some("joy".into()),
            ..EngineConfig::default()
        };
        let weighted = EngineConfig {
            rank_sort_algo: RankSortAlgo::WeightedConfidence,
            ..with_affinity.clone()
        };
        // (current, body, field blamed or None for accepted) — Decision D7.
        let cases: [(&EngineConfig, Value, Option<&str>); 10] = [
            (
                &plain,
                json!({ "rank_sort_algo": "weighted_similarity" }),
                Some("rank_sort_algo"),
            ),
            (
                &plain,
                json!({ "rank_sort_algo": "weighted_snr", "affinity_emotive": "joy" }),
                None,
            ),
            (
                &with_affinity,
                json!({ "rank_sort_algo": "weighted_evidence" }),
                None,
            ),
            (
                &weighted,
                json!({ "affinity_emotive": null }),
                Some("affinity_emotive"),
            ),
            (&weighted, json!({ "affinity_emotive": "fear" }), None),
            (
                &weighted,
                json!({ "affinity_emotive": null, "rank_sort_algo": "potential" }),
                None,
            ),
            (
                &plain,
                json!({ "rank_sort_algo": "weighted_snr", "affinity_emotive": null }),
                Some("rank_sort_algo"),
            ),
            (&plain, json!({ "rank_sort_algo": "potential" }), None),
            (&with_affinity, json!({ "affinity_emotive": null }), None),
            (
                &plain,
                json!({ "rank_sort_algo": "weighted_snr", "affinity_emotive": 5 }),
                Some("affinity_emotive"),
            ),
        ];
        for (current, body, blamed) in cases {
            let result = parse_update(&body, current);
            match blamed {
                None => assert!(result.is_ok(), "{body}: {result:?}"),
                Some(field) => {
                    let errors = errors_of(result);
                    assert_eq!(errors.keys().collect::<Vec<_>>(), vec![field], "{body}");
                }
            }
        }

        let created = parse_create(Some(&json!({ "rank_sort_algo": "weighted_snr" })), &plain);
        assert!(errors_of(created).contains_key("rank_sort_algo"));

        let overrides = ConfigOverrides {
            affinity_emotive: Some(None),
            ..ConfigOverrides::default()
        };
        assert!(overrides.validate_against(&weighted).is_err());
        assert!(overrides.validate_against(&with_affinity).is_ok());
    }

    #[test]
    fn minhash_bands_are_recomputed_when_the_shape_does_not_fit() {
        // (overrides, effective bands) — §5.2: bands := num_hashes // rows, clamped to 1–100.
        let cases = [
            (json!({}), 20),
            (json!({ "minhash_rows": 4 }), 25),
            (json!({ "minhash_bands": 10 }), 20),
            (json!({ "minhash_bands": 10, "minhash_rows": 10 }), 10),
            (json!({ "minhash_num_hashes": 128, "minhash_rows": 8 }), 16),
            (json!({ "minhash_num_hashes": 10, "minhash_rows": 20 }), 1),
            (json!({ "minhash_num_hashes": 256, "minhash_rows": 1 }), 100),
        ];
        for (body, bands) in cases {
            let effective = update(body.clone())
                .expect("valid")
                .apply_to(&EngineConfig::default());
            assert_eq!(effective.minhash_bands, bands, "{body}");
        }
    }

    #[test]
    fn to_json_shows_fuzzy_threshold_and_affinity_only_once_set() {
        let defaults = EngineConfig::default();
        // (overrides body, fuzzy_token_threshold present, affinity_emotive present)
        let cases = [
            (json!({}), false, false),
            (json!({ "fuzzy_token_threshold": 0.0 }), true, false),
            (json!({ "fuzzy_token_threshold": 0.8 }), true, false),
            (json!({ "affinity_emotive": "joy" }), false, true),
            (json!({ "affinity_emotive": null }), false, false),
        ];
        for (body, fuzzy, affinity) in cases {
            let overrides = update(body.clone()).expect("valid");
            let map = overrides.apply_to(&defaults).to_json(&overrides);
            assert_eq!(map.contains_key("fuzzy_token_threshold"), fuzzy, "{body}");
            assert_eq!(map.contains_key("affinity_emotive"), affinity, "{body}");
            let expected_order: Vec<&str> = EngineConfig::KEYS
                .iter()
                .copied()
                .filter(|key| map.contains_key(*key))
                .collect();
            assert_eq!(
                map.keys().map(String::as_str).collect::<Vec<_>>(),
                expected_order
            );
        }

        let map = defaults.to_json(&ConfigOverrides::default());
        assert_eq!(map.len(), 22);
        assert_eq!(
            Value::Object(map),
            json!({
                "max_pattern_length": 0, "persistence": 5, "recall_threshold": 0.1,
                "indexer_type": "VI", "max_predictions": 100, "sort_symbols": true,
                "process_predictions": true, "use_token_matching": true, "stm_mode": "CLEAR",
                "rank_sort_algo": "potential", "filter_pipeline": [], "length_min_ratio": 0.5,
                "length_max_ratio": 2.0, "jaccard_threshold": 0.3, "jaccard_min_overlap": 2,
                "minhash_threshold": 0.7, "minhash_bands": 20, "minhash_rows": 5,
                "minhash_num_hashes": 100, "bloom_false_positive_rate": 0.01,
                "max_candidates_per_stage": 100000, "enable_filter_metrics": true
            })
        );

        // A server-wide affinity default is shown, and an explicit session clear hides it.
        let server = EngineConfig {
            affinity_emotive: Some("joy".into()),
            ..EngineConfig::default()
        };
        assert!(server
            .to_json(&ConfigOverrides::default())
            .contains_key("affinity_emotive"));
        let cleared = update(json!({ "affinity_emotive": null })).expect("valid");
        assert!(!cleared
            .apply_to(&server)
            .to_json(&cleared)
            .contains_key("affinity_emotive"));
    }

    #[test]
    fn overrides_round_trip_through_serde() {
        let body = json!({
            "max_pattern_length": 3, "stm_mode": "ROLLING", "persistence": 7,
            "recall_threshold": 0.25, "max_predictions": 10, "use_token_matching": false,
            "sort_symbols": true, "process_predictions": false, "fuzzy_token_threshold": 0.8,
            "rank_sort_algo": "similarity", "affinity_emotive": null, "indexer_type": "LSH",
            "filter_pipeline": ["length", "rapidfuzz"], "length_min_ratio": 0.25,
            "length_max_ratio": 3.5, "jaccard_threshold": 0.4, "jaccard_min_overlap": 3,
            "minhash_threshold": 0.6, "minhash_bands": 25, "minhash_rows": 4,
            "minhash_num_hashes": 100, "bloom_false_positive_rate": 0.001,
            "max_candidates_per_stage": 500, "enable_filter_metrics": false
        });
        let overrides = update(body.clone()).expect("valid");
        let stored = serde_json::to_string(&overrides).expect("serialisable");
        let restored: ConfigOverrides = serde_json::from_str(&stored).expect("deserialisable");
        assert_eq!(restored, overrides);
        assert_eq!(
            restored.affinity_emotive,
            Some(None),
            "explicit clear survives"
        );
        assert_eq!(
            serde_json::to_value(&overrides).expect("serialisable"),
            body
        );

        let empty = ConfigOverrides::default();
        assert_eq!(serde_json::to_string(&empty).expect("serialisable"), "{}");
        let restored: ConfigOverrides = serde_json::from_str("{}").expect("deserialisable");
        assert!(restored.is_empty());

        let defaults = EngineConfig::default();
        let text = serde_json::to_string(&defaults).expect("serialisable");
        assert_eq!(
            serde_json::from_str::<EngineConfig>(&text).ok(),
            Some(defaults)
        );
        let partial: EngineConfig =
            serde_json::from_str(r#"{"persistence": 9}"#).expect("missing fields default");
        assert_eq!(partial.persistence, 9);
        assert_eq!(partial.max_predictions, 100);
    }

    #[test]
    fn merge_keeps_older_values_the_newer_update_does_not_set() {
        let mut overrides = update(json!({ "recall_threshold": 0.3, "persistence": 7,
                                            "affinity_emotive": "joy" }))
        .expect("valid");
        overrides.merge(update(json!({ "recall_threshold": 0.5 })).expect("valid"));
        assert_eq!(overrides.recall_threshold, Some(0.5));
        assert_eq!(overrides.persistence, Some(7));
        assert_eq!(overrides.affinity_emotive, Some(Some("joy".into())));

        overrides.merge(update(json!({ "affinity_emotive": null })).expect("valid"));
        assert_eq!(overrides.affinity_emotive, Some(None));
        let server = EngineConfig {
            affinity_emotive: Some("fear".into()),
            ..EngineConfig::default()
        };
        assert_eq!(overrides.apply_to(&server).affinity_emotive, None);

        overrides.merge(ConfigOverrides::default());
        assert_eq!(
            overrides.persistence,
            Some(7),
            "an empty update changes nothing"
        );
    }

    #[test]
    fn apply_to_replaces_exactly_the_set_fields() {
        let overrides = update(json!({ "max_predictions": 3, "stm_mode": "ROLLING",
                                        "filter_pipeline": ["jaccard"] }))
        .expect("valid");
        let effective = overrides.apply_to(&EngineConfig::default());
        assert_eq!(
            effective,
            EngineConfig {
                max_predictions: 3,
                stm_mode: StmMode::Rolling,
                filter_pipeline: vec![FilterKind::Jaccard],
                ..EngineConfig::default()
            }
        );
        assert_eq!(ConfigOverrides::default().apply_to(&effective), effective);
    }

    #[test]
    fn parse_create_treats_absent_and_null_as_no_overrides() {
        let defaults = EngineConfig::default();
        assert!(parse_create(None, &defaults).expect("absent").is_empty());
        assert!(parse_create(Some(&Value::Null), &defaults)
            .expect("null")
            .is_empty());
        assert_eq!(
            parse_create(Some(&json!(5)), &defaults),
            Err(ConfigError::NotAnObject)
        );
        // Decision D10: an invalid creation config is an error, not silently dropped.
        let errors = errors_of(parse_create(Some(&json!({ "persistence": 0 })), &defaults));
        assert!(errors.contains_key("persistence"));
        let created =
            parse_create(Some(&json!({ "use_token_matching": false })), &defaults).expect("valid");
        assert_eq!(
            created.sort_symbols,
            Some(false),
            "auto-toggle at creation too"
        );
    }

    #[test]
    fn rank_sort_algo_names_match_the_spec_list() {
        let spec = [
            "potential",
            "similarity",
            "evidence",
            "confidence",
            "snr",
            "fragmentation",
            "frequency",
            "normalized_entropy",
            "global_normalized_entropy",
            "itfdf_similarity",
            "confluence",
            "predictive_information",
            "bayesian_posterior",
            "bayesian_prior",
            "bayesian_likelihood",
            "tfidf_score",
            "weighted_similarity",
            "weighted_evidence",
            "weighted_confidence",
            "weighted_snr",
        ];
        let names: Vec<&str> = RankSortAlgo::ALL.iter().map(|algo| algo.as_str()).collect();
        assert_eq!(names, spec);
        for algo in RankSortAlgo::ALL {
            assert_eq!(algo.as_str().parse::<RankSortAlgo>(), Ok(*algo));
            assert_eq!(serde_json::to_value(algo).ok(), Some(json!(algo.as_str())));
            assert_eq!(algo.is_weighted(), algo.as_str().starts_with("weighted_"));
        }
        assert!("entropy".parse::<RankSortAlgo>().is_err());
    }

    #[test]
    fn wire_names_of_the_small_enums() {
        let filters: Vec<&str> = FilterKind::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(
            filters,
            ["length", "jaccard", "minhash", "bloom", "rapidfuzz"]
        );
        let indexers: Vec<&str> = IndexerType::ALL.iter().map(|i| i.as_str()).collect();
        assert_eq!(indexers, ["VI", "LSH", "ANNOY", "FAISS"]);
        assert_eq!(
            serde_json::to_value(StmMode::Rolling).ok(),
            Some(json!("ROLLING"))
        );
        assert_eq!("CLEAR".parse::<StmMode>(), Ok(StmMode::Clear));
        assert!("clear".parse::<StmMode>().is_err());
    }

    #[test]
    fn defaults_are_the_spec_table_and_validate() {
        let defaults = EngineConfig::default();
        assert_eq!(defaults.validate(), Ok(()));
        let broken = EngineConfig {
            persistence: 0,
            rank_sort_algo: RankSortAlgo::WeightedSnr,
            ..EngineConfig::default()
        };
        let errors = errors_of(broken.validate().map(|()| ConfigOverrides::default()));
        assert_eq!(
            errors.keys().map(String::as_str).collect::<Vec<_>>(),
            ["persistence", "rank_sort_algo"]
        );
    }

    #[test]
    fn long_strings_are_cut_in_messages() {
        let long = "x".repeat(500);
        let errors = errors_of(update(json!({ "indexer_type": long })));
        assert!(
            errors["indexer_type"].len() < 120,
            "{}",
            errors["indexer_type"]
        );
        assert!(errors["indexer_type"].contains('…'));
    }
}
