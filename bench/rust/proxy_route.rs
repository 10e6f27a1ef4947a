//! Deciding a service request's way (`ProxyRules::route`), the work azmi adds per request for
//! proxies: with no proxy set, with a proxy and a 12-entry NO_PROXY list whose last entry sends
//! the host direct, and with a host the list does not name (through the proxy). The rules are
//! made once (when the setting changes); this is the per-request part.
//! Run: `cargo bench --bench proxy_route`.

use std::hint::black_box;

use azmi::{ProxyRules, ProxySetting};
use criterion::{criterion_group, criterion_main, Criterion};

const NO_PROXY: &str = "localhost,.corp.example,.internal.example,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fd00::/8,.svc.cluster.local,metadata.internal,.local,::1,127.0.0.1";

fn rules(vars: &[(&str, &str)]) -> ProxyRules {
    ProxyRules::from_setting(&ProxySetting::Variables(
        vars.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    ))
    .unwrap()
}

fn route(c: &mut Criterion) {
    let vault = url::Url::parse("https://127.0.0.1:8443/secrets/mi-test").unwrap();
    let public = url::Url::parse("https://mi-lab-vault.vault.azure.net/secrets/mi-test").unwrap();
    let none = rules(&[]);
    let proxied = rules(&[
        ("HTTPS_PROXY", "http://proxy.corp.example:3128"),
        ("NO_PROXY", NO_PROXY),
    ]);
    let mut group = c.benchmark_group("proxy route");
    group.bench_function("no proxy set", |b| {
        b.iter(|| black_box(none.route(black_box(&vault))).proxy().is_some())
    });
    group.bench_function("NO_PROXY's 12th entry sends it direct", |b| {
        b.iter(|| {
            black_box(proxied.route(black_box(&vault)))
                .proxy()
                .is_some()
        })
    });
    group.bench_function("through the proxy (no entry matches)", |b| {
        b.iter(|| {
            black_box(proxied.route(black_box(&public)))
                .proxy()
                .is_some()
        })
    });
    group.finish();
}

criterion_group!(benches, route);
criterion_main!(benches);
