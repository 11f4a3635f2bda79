//! Prometheus metrics, declared in one place with help text and the `kato_` namespace.
//! (in progress)

/// Every metric of the server.
#[derive(Default)]
pub struct Metrics {}

impl Metrics {
    pub fn new() -> Self {
        Metrics {}
    }
}
