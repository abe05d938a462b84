//! Every route, registered through utoipa so that none can exist undocumented.

pub mod employers;
pub mod matches;
pub mod ops;
pub mod privacy;
pub mod reference;
pub mod resource;
pub mod vacancies;
pub mod workers;

use utoipa_actix_web::service_config::ServiceConfig;

/// actix-web tries the routes in this order, each templated one with a regular
/// expression, and again to name the route in metrics: the matching routes, the
/// most frequent and the most latency-sensitive, come first. No other route
/// matches a path they match, so the order changes nothing else.
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(matches::vacancy_candidates)
        .service(matches::worker_vacancies)
        .service(matches::match_preview)
        .service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(reference::list_sectors)
        .service(reference::list_provinces)
        .service(reference::list_districts)
        .service(reference::list_communes)
        .service(reference::lookup_skills)
        .service(reference::lookup_occupations)
        .service(employers::create_employer)
        .service(employers::list_employers)
        .service(employers::get_employer)
        .service(employers::update_employer)
        .service(vacancies::create_vacancy)
        .service(vacancies::list_vacancies)
        .service(vacancies::get_vacancy)
        .service(vacancies::update_vacancy)
        .service(vacancies::close_vacancy)
        .service(workers::create_worker)
        .service(workers::create_workers_batch)
        .service(workers::list_workers)
        .service(workers::get_worker)
        .service(workers::update_worker)
        .service(workers::delete_worker)
        .service(privacy::release_contact)
        .service(privacy::read_statistics)
        .service(privacy::read_audit_log);
}
