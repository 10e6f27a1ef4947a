//! The core's token flows against azmi-emulator: identities, errors, retries, fast failure,
//! caching, single flight and background refresh.

use std::sync::Arc;
use std::time::{Duration, Instant};

use azmi::{Azmi, ErrorCode, IdentityId, ManagedIdentity, RetryPolicy, SourceEnv, TokenOptions};
use azmi_emulator::{Emulator, EmulatorConfig, Fault, ResponseStyle};

mod fake_http;

const ARM: &str = "https://management.azure.com/";
const VAULT: &str = "https://vault.azure.net";
const SYSTEM_OID: &str = "5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0002";
const UAMI_CLIENT_ID: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";
const UAMI_OID: &str = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb";
const UAMI_RESOURCE_ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/azmi-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/azmi-uami";

fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::default()).expect("emulator starts")
}

/// Fast retries so that retry tests take milliseconds, not seconds.
fn quick(mi: ManagedIdentity) -> ManagedIdentity {
    mi.with_options(TokenOptions {
        retry: RetryPolicy {
            budget: Duration::from_secs(5),
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
        },
        ..TokenOptions::default()
    })
}

fn system(emu: &Emulator) -> ManagedIdentity {
    quick(ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, &emu.token_url()).unwrap())
}

fn claims(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("JWT-shaped");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn system_assigned_token_for_the_exact_resource() {
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    let grant = azmi.get_token(&system(&emu), ARM, false).await.unwrap();
    let t = &grant.token;
    assert!(!grant.from_cache);
    assert_eq!(t.resource(), ARM);
    assert_eq!(t.token_type(), "Bearer");
    assert!((t.expires_on() - (now() + 3600)).abs() <= 5);
    let c = claims(t.secret());
    assert_eq!(c["aud"], ARM);
    assert_eq!(c["oid"], SYSTEM_OID);

    let req = emu.requests().pop().unwrap();
    assert_eq!(
        req.query,
        "api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F"
    );
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header("metadata").as_deref(), Some("true"));
    assert_eq!(header("x-forwarded-for"), None);
}

#[tokio::test]
async fn resource_is_passed_exactly_and_scope_suffix_removed() {
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    let mi = system(&emu);
    for (asked, sent) in [
        (
            "https://management.azure.com",
            "https://management.azure.com",
        ),
        ("https://vault.azure.net/.default", VAULT),
        ("https://storage.azure.com/", "https://storage.azure.com/"),
    ] {
        let t = azmi.get_token(&mi, asked, false).await.unwrap().token;
        assert_eq!(t.resource(), sent);
        assert_eq!(claims(t.secret())["aud"], sent);
    }
}

#[tokio::test]
async fn user_assigned_by_each_kind_of_id() {
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    for (id, param) in [
        (IdentityId::ClientId(UAMI_CLIENT_ID.into()), "client_id="),
        (IdentityId::ObjectId(UAMI_OID.into()), "object_id="),
        (
            IdentityId::ResourceId(UAMI_RESOURCE_ID.into()),
            "msi_res_id=",
        ),
    ] {
        let mi = quick(ManagedIdentity::with_endpoint(id, &emu.token_url()).unwrap());
        let t = azmi.get_token(&mi, VAULT, false).await.unwrap().token;
        let c = claims(t.secret());
        assert_eq!(c["oid"], UAMI_OID);
        assert_eq!(c["appid"], UAMI_CLIENT_ID);
        assert!(emu.requests().pop().unwrap().query.contains(param));
    }
}

#[tokio::test]
async fn unknown_identity_and_resource_are_clear_errors_and_not_retried() {
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    let other = "99999999-9999-9999-9999-999999999999";
    let mi = quick(
        ManagedIdentity::with_endpoint(IdentityId::ClientId(other.into()), &emu.token_url())
            .unwrap(),
    );
    let e = azmi.get_token(&mi, ARM, false).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::IdentityNotFound);
    assert_eq!(e.http_status(), Some(400));
    assert_eq!(e.service_code(), Some("invalid_request"));
    assert!(e.to_string().contains(other), "{e}");
    assert!(
        e.to_string().contains("not assigned to this machine"),
        "{e}"
    );

    let e = azmi
        .get_token(&system(&emu), "https://nothing.example/", false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidResource);
    assert!(e.to_string().contains("AADSTS50001"), "{e}");
    assert_eq!(emu.counters().token_requests, 2, "400s are not retried");
}

#[tokio::test]
async fn gone_is_retried_until_it_succeeds() {
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    emu.set_faults(vec![Fault::Status {
        status: 410,
        retry_after: None,
        count: 3,
    }]);
    let t = azmi.get_token(&system(&emu), ARM, false).await.unwrap();
    assert!(!t.token.secret().is_empty());
    assert_eq!(emu.counters().token_requests, 4);
}

#[tokio::test]
async fn transient_statuses_are_retried_and_final_errors_keep_the_status() {
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    let mi = system(&emu);
    for status in [404, 408, 500, 503] {
        emu.reset();
        emu.set_faults(vec![Fault::Status {
            status,
            retry_after: None,
            count: 1,
        }]);
        azmi.get_token(&mi, ARM, true).await.unwrap();
        assert_eq!(
            emu.counters().token_requests,
            2,
            "status {status} retried once"
        );
    }

    // Past the budget the last error is reported with its status.
    emu.reset();
    let short = mi.clone().with_options(TokenOptions {
        retry: RetryPolicy {
            budget: Duration::from_millis(300),
            initial_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(50),
        },
        ..TokenOptions::default()
    });
    emu.set_faults(vec![Fault::Status {
        status: 500,
        retry_after: None,
        count: 1000,
    }]);
    let started = Instant::now();
    let e = azmi.get_token(&short, ARM, true).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServiceError);
    assert_eq!(e.http_status(), Some(500));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(emu.counters().token_requests >= 3);

    emu.reset();
    emu.set_faults(vec![Fault::Status {
        status: 429,
        retry_after: None,
        count: 1000,
    }]);
    let e = azmi.get_token(&short, ARM, true).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Throttled);
    assert_eq!(e.http_status(), Some(429));

    // Other 4xx are not retried.
    emu.reset();
    emu.set_faults(vec![Fault::Status {
        status: 403,
        retry_after: None,
        count: 1000,
    }]);
    let e = azmi.get_token(&mi, ARM, true).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::PermissionDenied);
    assert_eq!(emu.counters().token_requests, 1);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    let mi = system(&emu);
    azmi.get_token(&mi, VAULT, false).await.unwrap();
    emu.set_faults(vec![Fault::Status {
        status: 429,
        retry_after: Some(1),
        count: 1,
    }]);
    let started = Instant::now();
    azmi.get_token(&mi, ARM, false).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(950));

    // A Retry-After past the budget ends the call at once instead of sleeping for nothing.
    emu.set_faults(vec![Fault::Status {
        status: 429,
        retry_after: Some(60),
        count: 1,
    }]);
    let started = Instant::now();
    let e = azmi.get_token(&mi, ARM, true).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Throttled);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_malformed_200_is_a_protocol_error_without_a_panic() {
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    emu.set_faults(vec![Fault::Malformed { count: 1 }]);
    let e = azmi.get_token(&system(&emu), ARM, false).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ProtocolError);
    assert_eq!(emu.counters().token_requests, 1);
}

#[tokio::test]
async fn dropped_connections_are_retried_once_the_endpoint_has_answered() {
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    let mi = system(&emu);
    azmi.get_token(&mi, VAULT, false).await.unwrap();
    emu.set_faults(vec![Fault::Drop { count: 2 }]);
    azmi.get_token(&mi, ARM, false).await.unwrap();
    assert_eq!(emu.counters().token_requests, 4);
}

#[tokio::test]
async fn no_endpoint_fails_fast_and_the_failure_is_not_cached() {
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/metadata/identity/oauth2/token");
    let mi = ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, &url).unwrap();
    let azmi = Azmi::new().unwrap();
    let started = Instant::now();
    let e = azmi.get_token(&mi, ARM, false).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ManagedIdentityUnavailable);
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert!(e
        .to_string()
        .contains("no managed identity endpoint answered"));
    assert!(e.to_string().contains(&url));

    // The endpoint comes up: the next call works.
    let emu = Emulator::start(EmulatorConfig {
        port,
        ..EmulatorConfig::default()
    })
    .unwrap();
    azmi.get_token(&mi, ARM, false).await.unwrap();
    assert_eq!(emu.counters().token_requests, 1);
}

#[tokio::test]
async fn a_slow_first_answer_is_waited_for_and_gives_a_token() {
    // A real IMDS can take seconds to answer a VM's first token request: the short probe window
    // only decides whether an endpoint is there, so a slow answer is not "no managed identity".
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    let mi = system(&emu);
    emu.set_faults(vec![Fault::Delay { ms: 3000, count: 1 }]);
    let started = Instant::now();
    let grant = azmi.get_token(&mi, ARM, false).await.unwrap();
    assert!(!grant.from_cache);
    assert!(started.elapsed() >= Duration::from_millis(2900));
    assert_eq!(emu.counters().token_requests, 1);

    azmi.get_token(&mi, VAULT, false).await.unwrap();
    emu.set_faults(vec![Fault::Delay { ms: 1500, count: 1 }]);
    azmi.get_token(&mi, ARM, true).await.unwrap();
}

#[test]
fn sixteen_cold_callers_of_a_slow_endpoint_cause_one_token_request() {
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    let mi = system(&emu);
    emu.set_faults(vec![Fault::Delay { ms: 3000, count: 1 }]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let (azmi, mi) = (azmi.clone(), mi.clone());
            runtime.spawn(async move { azmi.get_token(&mi, ARM, false).await })
        })
        .collect();
    let tokens: Vec<_> = runtime.block_on(async {
        let mut tokens = Vec::new();
        for call in calls {
            tokens.push(call.await.unwrap().unwrap().token);
        }
        tokens
    });
    assert!(started.elapsed() >= Duration::from_millis(2900));
    assert!(tokens.iter().all(|t| Arc::ptr_eq(t, &tokens[0])));
    assert_eq!(emu.counters().token_requests, 1);
}

#[tokio::test]
async fn cached_tokens_are_served_without_requests() {
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    let mi = system(&emu);
    let first = azmi.get_token(&mi, ARM, false).await.unwrap();
    for _ in 0..100 {
        let again = azmi.get_token(&mi, ARM, false).await.unwrap();
        assert!(again.from_cache);
        assert!(Arc::ptr_eq(&again.token, &first.token));
    }
    assert_eq!(emu.counters().token_requests, 1);

    let forced = azmi.get_token(&mi, ARM, true).await.unwrap();
    assert!(!forced.from_cache);
    assert!(forced.token.secret() != first.token.secret());
    assert_eq!(emu.counters().token_requests, 2);

    // Keys differ by identity and resource.
    azmi.get_token(&mi, VAULT, false).await.unwrap();
    let uami = quick(
        ManagedIdentity::with_endpoint(
            IdentityId::ClientId(UAMI_CLIENT_ID.into()),
            &emu.token_url(),
        )
        .unwrap(),
    );
    azmi.get_token(&uami, ARM, false).await.unwrap();
    assert_eq!(emu.counters().token_requests, 4);
}

#[tokio::test]
async fn tokens_within_five_minutes_of_expiry_are_renewed() {
    let emu = emulator();
    emu.set_token_lifetime(240);
    let azmi = Azmi::new().unwrap();
    let mi = system(&emu);
    azmi.get_token(&mi, ARM, false).await.unwrap();
    let again = azmi.get_token(&mi, ARM, false).await.unwrap();
    assert!(!again.from_cache);
    assert_eq!(emu.counters().token_requests, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_cold_callers_cause_one_request() {
    let emu = emulator();
    emu.set_faults(vec![Fault::Delay { ms: 200, count: 1 }]);
    let azmi = Azmi::new().unwrap();
    let mi = system(&emu);
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (azmi, mi) = (azmi.clone(), mi.clone());
            tokio::spawn(async move { azmi.get_token(&mi, ARM, false).await })
        })
        .collect();
    let mut secrets = Vec::new();
    for t in tasks {
        secrets.push(t.await.unwrap().unwrap().token.secret().to_owned());
    }
    assert!(secrets.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(emu.counters().token_requests, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lived_tokens_refresh_in_the_background_and_survive_a_failed_refresh() {
    let emu = emulator();
    emu.set_token_lifetime(3 * 3600);
    // Whole seconds: a refresh is due between 1 and 2 s after a token arrives.
    emu.set_refresh_in(Some(2));
    let azmi = Azmi::new().unwrap();
    let mi = system(&emu);
    let first = azmi.get_token(&mi, ARM, false).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;

    // Due for refresh, but the caller gets the valid token at once.
    emu.set_faults(vec![Fault::Delay { ms: 300, count: 1 }]);
    let started = Instant::now();
    let during = azmi.get_token(&mi, ARM, false).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(100));
    assert!(during.from_cache);
    assert!(during.token.secret() == first.token.secret());
    wait_for(|| emu.counters().token_requests == 2).await;
    let refreshed = wait_for_token(&azmi, &mi, first.token.secret()).await;
    assert!(refreshed != first.token.secret());

    // A failing refresh leaves the valid token in place.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    emu.set_faults(vec![Fault::Status {
        status: 403,
        retry_after: None,
        count: 1,
    }]);
    let kept = azmi.get_token(&mi, ARM, false).await.unwrap();
    assert!(kept.token.secret() == refreshed, "the valid token is kept");
    wait_for(|| emu.counters().token_requests == 3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let still = azmi.get_token(&mi, ARM, false).await.unwrap();
    assert!(still.token.secret() == refreshed, "still the valid token");
    assert!(still.from_cache);
}

async fn wait_for(cond: impl Fn() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached within 2 s");
}

async fn wait_for_token(azmi: &Azmi, mi: &ManagedIdentity, old: &str) -> String {
    for _ in 0..200 {
        let t = azmi.get_token(mi, ARM, false).await.unwrap();
        if t.token.secret() != old {
            return t.token.secret().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the refreshed token never arrived");
}

#[tokio::test]
async fn every_response_shape_is_understood() {
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    let mi = system(&emu);
    for style in [
        ResponseStyle::Numbers,
        ResponseStyle::Date,
        ResponseStyle::ExpiresInOnly,
    ] {
        emu.set_response_style(style);
        let t = azmi.get_token(&mi, ARM, true).await.unwrap().token;
        assert!(
            (t.expires_on() - (now() + 3600)).abs() <= 5,
            "{style:?}: {}",
            t.expires_on()
        );
    }
}

#[tokio::test]
async fn dropping_the_call_stops_it_at_once() {
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    let mi = system(&emu);
    azmi.get_token(&mi, VAULT, false).await.unwrap();
    emu.set_faults(vec![Fault::Delay {
        ms: 30_000,
        count: 1,
    }]);
    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_millis(200), azmi.get_token(&mi, ARM, false)).await;
    assert!(r.is_err());
    assert!(started.elapsed() < Duration::from_secs(1));
    // The abandoned request does not linger: a new call starts afresh and succeeds.
    azmi.get_token(&mi, ARM, false).await.unwrap();
}

#[tokio::test]
async fn tokens_never_appear_in_debug_or_errors() {
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    let grant = azmi.get_token(&system(&emu), ARM, false).await.unwrap();
    let secret = grant.token.secret().to_owned();
    assert!(!format!("{grant:?}").contains(&secret));
    assert!(!format!("{:?}", grant.token).contains(&secret));
}

#[tokio::test]
async fn gone_keeps_retrying_past_a_shorter_budget() {
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    let mi = system(&emu).with_options(TokenOptions {
        retry: RetryPolicy {
            budget: Duration::from_millis(300),
            initial_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
        },
        ..TokenOptions::default()
    });
    emu.set_faults(vec![Fault::Status {
        status: 410,
        retry_after: None,
        count: 100_000,
    }]);
    // IMDS is back within 70 s of a 410, so the call keeps trying well past its 300 ms budget.
    let r = tokio::time::timeout(Duration::from_secs(2), azmi.get_token(&mi, ARM, false)).await;
    assert!(r.is_err(), "still retrying after 2 s");
    assert!(emu.counters().token_requests > 10);
}

/// The error of a first token request to an IMDS endpoint at `addr`, and how long it took.
async fn first_token_fails_at(addr: std::net::SocketAddr) -> (azmi::Error, Duration) {
    let url = format!("http://{addr}/metadata/identity/oauth2/token");
    let mi = ManagedIdentity::with_endpoint(IdentityId::SystemAssigned, &url).unwrap();
    let started = Instant::now();
    let e = Azmi::new()
        .unwrap()
        .get_token(&mi, ARM, false)
        .await
        .unwrap_err();
    (e, started.elapsed())
}

#[tokio::test]
async fn an_endpoint_that_takes_no_connection_fails_in_about_a_second() {
    // A listener whose accept queue is full drops new connections' SYNs, as a host that is not
    // there does: nothing answers, and azmi must not wait for the request timeout.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    let filled = (0..64).any(|_| {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => {
                held.push(stream);
                false
            }
            Err(_) => true,
        }
    });
    assert!(filled, "the accept queue never filled");
    let (e, took) = first_token_fails_at(addr).await;
    assert_eq!(e.code(), ErrorCode::ManagedIdentityUnavailable, "{e}");
    // The probe window, not the 20 s request timeout, ended it (said, rather than timed:
    // no timed assertions on a shared machine).
    assert!(
        e.to_string().contains("within 1000 ms"),
        "{e} after {took:?}"
    );
    drop(listener);
}

/// A listener that takes every connection and never answers (as a transparent proxy or
/// firewall does): its address, and the task holding the connections (abort it when done).
async fn accepts_and_never_answers() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (addr, holder)
}

#[tokio::test]
async fn an_endpoint_that_accepts_and_never_answers_fails_within_the_probe_window() {
    // A transparent proxy or firewall that takes every connection and never answers: the
    // probe's header-less request gets no answer within 1 s, so there is no managed identity,
    // said at once (not after the 20 s request timeout and the retries).
    let (addr, holder) = accepts_and_never_answers().await;
    let (e, took) = first_token_fails_at(addr).await;
    assert_eq!(e.code(), ErrorCode::ManagedIdentityUnavailable, "{e}");
    assert!(
        e.to_string()
            .contains("something accepted the connection but sent no answer within 1000 ms"),
        "{e} after {took:?}"
    );
    holder.abort();
}

#[tokio::test]
async fn the_probe_window_is_azmi_imds_probe_timeout_ms_when_set() {
    // For hosts where an IMDS that is there answers slower than 1 s (a loaded machine, a
    // program under valgrind): the variable widens the window, and the message says so.
    let (addr, holder) = accepts_and_never_answers().await;
    let url = format!("http://{addr}/metadata/identity/oauth2/token");
    let env = SourceEnv::empty()
        .set("AZMI_IMDS_ENDPOINT", &url)
        .set("AZMI_IMDS_PROBE_TIMEOUT_MS", "1500");
    let mi = ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap();
    assert_eq!(mi.options().probe_timeout, Duration::from_millis(1500));
    let e = Azmi::new()
        .unwrap()
        .get_token(&mi, ARM, false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ManagedIdentityUnavailable, "{e}");
    assert!(e.to_string().contains("no answer within 1500 ms"), "{e}");
    holder.abort();

    // Unset or empty: the default window.
    let env = SourceEnv::empty().set("AZMI_IMDS_ENDPOINT", &url);
    let mi = ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap();
    assert_eq!(mi.options().probe_timeout, Duration::from_millis(1000));
}

#[test]
fn a_probe_window_that_is_not_a_number_of_milliseconds_is_refused_naming_the_variable() {
    for bad in ["0", "-5", "1.5", "2s", "20001", "99999999999999999999"] {
        let env = SourceEnv::empty()
            .set(
                "AZMI_IMDS_ENDPOINT",
                "http://127.0.0.1:1/metadata/identity/oauth2/token",
            )
            .set("AZMI_IMDS_PROBE_TIMEOUT_MS", bad);
        let e = ManagedIdentity::detect(IdentityId::SystemAssigned, &env).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad}: {e}");
        let message = e.to_string();
        assert!(
            message.contains("AZMI_IMDS_PROBE_TIMEOUT_MS") && message.contains("from 1 to 20000"),
            "{bad}: {message}"
        );
    }
}

#[tokio::test]
async fn an_answer_that_is_not_imds_shaped_is_no_managed_identity() {
    // A firewall's page for any address: seen, and said, but not taken for IMDS.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = fake_http::read_request(&mut stream).await;
            let body = "<html>Blocked by policy</html>";
            let _ = stream
                .write_all(
                    format!(
                        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
        }
    });
    let (e, _) = first_token_fails_at(addr).await;
    assert_eq!(e.code(), ErrorCode::ManagedIdentityUnavailable, "{e}");
    assert!(
        e.to_string()
            .contains("something answered HTTP 403, but not as a managed identity endpoint does"),
        "{e}"
    );
    server.abort();
}

#[tokio::test]
async fn the_probe_is_a_request_without_the_metadata_header_sent_once() {
    let emu = emulator();
    let azmi = Azmi::new().unwrap();
    let mi = system(&emu);
    azmi.get_token(&mi, ARM, false).await.unwrap();
    azmi.get_token(&mi, VAULT, false).await.unwrap();
    let c = emu.counters();
    assert_eq!((c.probe_requests, c.token_requests), (1, 2));
    // Every token request carried the header; the probe is not among them.
    assert!(emu.requests().iter().all(|r| r
        .headers
        .iter()
        .any(|(n, v)| n == "metadata" && v == "true")));
}
