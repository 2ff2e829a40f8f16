//! A database outage staged with a TCP proxy between the service and PostgreSQL: readiness
//! follows the database within a second, liveness stays, and the same process recovers.

use std::net::ToSocketAddrs;
use std::thread;
use std::time::{Duration, Instant};

use template_harness::ports::free_port;
use template_harness::postgres::{PgUrl, TempDb};
use template_harness::process::Proc;
use template_harness::proxy::{Proxy, ProxyMode};
use template_harness::report::{list_ms, ms, progress};

use crate::SERVICE;

/// PostgreSQL goes away and comes back; readiness follows within a second, liveness stays,
/// no restart.
#[test]
fn database_outage_without_restart() {
    let db = SERVICE.migrated_db();
    let (mut proxy, through_proxy) = a_proxy_in_front_of(&db);
    let mut service = SERVICE
        .launch("serve (behind the proxy)")
        .port(free_port())
        .database(&through_proxy)
        .spawn();
    let ready = service.wait_ready();
    assert!(
        proxy.accepted() > 0,
        "the service reaches PostgreSQL through the proxy"
    );
    let pid = service.child.id();

    proxy.close();
    not_ready_but_live(&service, "connections cut, new ones refused");
    proxy.open(ProxyMode::Blackhole);
    not_ready_but_live(&service, "connections accepted, never answered");

    proxy.close();
    proxy.open(ProxyMode::Forward);
    let back = service.wait_for_status("/readyz", 200, Duration::from_secs(10));
    assert!(
        back < Duration::from_secs(5),
        "/readyz took {} ms to recover\n{}",
        ms(back),
        service.describe()
    );
    assert!(
        service.try_exit().is_none() && service.child.id() == pid,
        "the same process is still serving"
    );
    assert!(
        service.warning_about("PostgreSQL").is_some(),
        "the failed checks are logged as warnings\n{}",
        service.describe()
    );
    let exit = service.stop_cleanly();
    progress(&format!(
        "[e2e] database outage: ready in {} ms at start; restore->/readyz 200 after {} ms without a restart; SIGTERM->exit {} ms",
        ms(ready),
        ms(back),
        ms(exit)
    ));
}

/// A proxy forwarding to `db`'s server, and `db`'s URL through it.
fn a_proxy_in_front_of(db: &TempDb) -> (Proxy, String) {
    let upstream = (db.url.host.as_str(), db.url.port)
        .to_socket_addrs()
        .expect("resolve the database host")
        .next()
        .expect("an address for the database host");
    let proxy = Proxy::start(upstream);
    let through_proxy = PgUrl {
        host: "127.0.0.1".to_owned(),
        port: proxy.port,
        ..db.url.clone()
    }
    .to_string();
    (proxy, through_proxy)
}

/// The probes while the database is away, five times: /readyz 503 within 1 s, /livez 200.
fn not_ready_but_live(service: &Proc, phase: &str) {
    let (mut readyz_took, mut livez_took) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let started = Instant::now();
        let readyz = service.get("/readyz");
        let took = started.elapsed();
        assert_eq!(
            readyz.status,
            503,
            "{phase}: /readyz must fail: {readyz:?}\n{}",
            service.describe()
        );
        assert!(
            took < Duration::from_secs(1),
            "{phase}: /readyz took {} ms, more than 1 s\n{}",
            ms(took),
            service.describe()
        );
        assert_eq!(
            readyz.json()["checks"]["postgres:responseTime"][0]["status"],
            "fail",
            "{readyz:?}"
        );
        readyz_took.push(took);

        let started = Instant::now();
        let livez = service.get("/livez");
        livez_took.push(started.elapsed());
        assert_eq!(
            livez.status,
            200,
            "{phase}: /livez stays 200: {livez:?}\n{}",
            service.describe()
        );
        thread::sleep(Duration::from_millis(100));
    }
    progress(&format!(
        "[e2e] outage ({phase}): /readyz 503 in {}, /livez 200 in {}",
        list_ms(&readyz_took),
        list_ms(&livez_took)
    ));
}
