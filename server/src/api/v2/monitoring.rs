//! `/v2/health`, `/v2/status` and `/v2/metrics` (API.md §2.2; the seeds' deployment guide
//! shows the health body): the current surface's monitoring bodies in their v2 variants
//! (`base_processor_id`, version `2.0.0`). Live values, no token; never changes anything.

use actix_web::web;

use crate::api::current::monitoring::{v2_health, v2_metrics, v2_status};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health").route(web::get().to(v2_health)))
        .service(web::resource("/status").route(web::get().to(v2_status)))
        .service(web::resource("/metrics").route(web::get().to(v2_metrics)));
}
