//! The token cache: one entry per (endpoint + identity, resource). A cached token is served
//! until 5 minutes before it expires; long-lived tokens are refreshed in the background while
//! callers keep getting the valid one; concurrent callers share one request.
//!
//! A warm lookup is the hottest path of azmi (every request a process makes asks for its
//! token), so it hashes little: the source's key carries a hash computed once when the
//! identity is built ([`SourceKey`]), and the resource is hashed with a fast non-cryptographic
//! hash ([`FastHash`]; the resources are the caller's own strings, and a caller able to choose
//! them could as well make the cache grow, so a keyed hash would protect nothing).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption};
use futures::future::{FutureExt, Shared, WeakShared};
use parking_lot::Mutex;

use crate::claims::Claims;
use crate::error::Result;
use crate::token::AccessToken;

/// A token counts as expired this long before its real expiry (as MSAL does), so that it is
/// still valid when the service checks it.
pub(crate) const EXPIRY_MARGIN_SECS: i64 = 300;
/// After a failed background refresh, wait this long before trying again in the background.
const BACKGROUND_RETRY_SECS: i64 = 30;

pub(crate) type FetchResult = Result<Arc<AccessToken>>;
type BoxFetch = Pin<Box<dyn Future<Output = FetchResult> + Send>>;
pub(crate) type Fetch = Shared<BoxFetch>;
/// Entries by source and then by resource (its bytes, normalized: see
/// `identity::normalize_resource`).
type BySource = HashMap<SourceKey, ByResource, PassThrough>;
type ByResource = HashMap<Box<[u8]>, Arc<Entry>, FastHash>;

/// What tells a source (endpoint, identity, capabilities) apart in the cache, with its hash,
/// computed once.
#[derive(Clone)]
pub(crate) struct SourceKey {
    text: Arc<str>,
    hash: u64,
}

impl SourceKey {
    pub(crate) fn new(text: String) -> SourceKey {
        SourceKey {
            hash: FastHash::default().hash_one(text.as_bytes()),
            text: text.into(),
        }
    }
}

impl PartialEq for SourceKey {
    fn eq(&self, other: &SourceKey) -> bool {
        self.hash == other.hash && (Arc::ptr_eq(&self.text, &other.text) || self.text == other.text)
    }
}

impl Eq for SourceKey {}

impl Hash for SourceKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl fmt::Debug for SourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text, f)
    }
}

/// Hashes of [`SourceKey`]s: theirs, as computed once.
pub(crate) type PassThrough = BuildHasherDefault<Prehashed>;

#[derive(Default)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (by `SourceKey`); anything else is hashed, not lost.
        let mut h = Fast(self.0);
        h.write(bytes);
        self.0 = h.finish();
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A fast hash of short strings (FxHash's word step, a 64-bit finalizer so that both the high
/// bits hashbrown keeps as tags and the low bits that pick a bucket vary).
pub(crate) type FastHash = BuildHasherDefault<Fast>;

#[derive(Default)]
pub(crate) struct Fast(u64);

const K: u64 = 0xf135_7aea_2e62_a9c5;

impl Fast {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(K).rotate_left(26);
    }
}

/// The last 1 to 7 bytes as a word, read 4, 2 and 1 at a time (not through `memcpy`).
#[inline]
fn tail_word(rest: &[u8]) -> u64 {
    let (mut word, mut at) = (0u64, 0);
    if let Some(four) = rest.first_chunk::<4>() {
        word = u64::from(u32::from_le_bytes(*four));
        at = 4;
    }
    if let Some(two) = rest[at..].first_chunk::<2>() {
        word |= u64::from(u16::from_le_bytes(*two)) << (8 * at);
        at += 2;
    }
    if let Some(&one) = rest.get(at) {
        word |= u64::from(one) << (8 * at);
    }
    word
}

impl Hasher for Fast {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.add(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            self.add(tail_word(rest) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        let h = self.0;
        (h ^ (h >> 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (h >> 29)
    }
}

/// The time in Unix seconds. On Linux the coarse clock: the time of the last timer tick (a few
/// milliseconds old at most), read without asking the hardware timer, which is plenty for
/// expiry times in seconds and is a fifth of the cost on the warm token path.
pub(crate) fn now_secs() -> i64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid timespec to write.
        if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) } == 0 {
            #[allow(clippy::unnecessary_cast)] // time_t is 32 bits on some targets
            return ts.tv_sec as i64;
        }
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// One cached token and the request that is renewing it, if any.
#[derive(Default)]
pub(crate) struct Entry {
    /// The resource, normalized (what a request for a new token asks for).
    pub(crate) resource: Box<str>,
    /// Read without a lock by every warm call (an ArcSwap load writes nothing other threads
    /// read), so that concurrent callers do not contend.
    current: ArcSwapOption<AccessToken>,
    /// The request in flight. Weak, so that when every caller waiting on it has gone (all
    /// cancelled) the request is dropped and the next caller starts afresh.
    inflight: Mutex<Option<InFlight>>,
    generation: AtomicU64,
    /// The generation of the token in `current` (written under the `inflight` lock), so that
    /// a request started earlier but finishing later never replaces a newer token: one asked
    /// with claims must not be undone by one asked before the token was revoked.
    stored_generation: AtomicU64,
    background_running: AtomicBool,
    next_background_at: AtomicI64,
}

/// A request renewing an entry, and the claims it asks for.
struct InFlight {
    generation: u64,
    claims: Option<Claims>,
    request: WeakShared<BoxFetch>,
}

/// What [`Entry::fresh`] found.
pub(crate) struct Fresh {
    pub token: Arc<AccessToken>,
    /// The token is due for a background refresh and this caller should start it.
    pub start_background_refresh: bool,
}

impl Entry {
    fn new(resource: &str) -> Entry {
        Entry {
            resource: resource.into(),
            ..Entry::default()
        }
    }

    /// The cached token if it is still good for at least the expiry margin.
    pub(crate) fn fresh(&self, now: i64) -> Option<Fresh> {
        let token = self.current.load_full()?;
        if now >= token.expires_on - EXPIRY_MARGIN_SECS {
            return None;
        }
        let start_background_refresh = self.claim_background_refresh(&token, now);
        Some(Fresh {
            token,
            start_background_refresh,
        })
    }

    /// As [`Entry::fresh`], but lends the token to `f` instead of sharing it: the warm path of
    /// the C ABI copies what it needs and touches no reference count.
    pub(crate) fn with_fresh<R>(
        &self,
        now: i64,
        f: impl FnOnce(&AccessToken) -> R,
    ) -> Option<(R, bool)> {
        let guard = self.current.load();
        let token = guard.as_ref()?;
        if now >= token.expires_on - EXPIRY_MARGIN_SECS {
            return None;
        }
        let start = self.claim_background_refresh(token, now);
        Some((f(token), start))
    }

    /// Whether the token is due for a background refresh and this caller should start it.
    fn claim_background_refresh(&self, token: &AccessToken, now: i64) -> bool {
        let due = token.refresh_at.is_some_and(|at| now >= at)
            && now >= self.next_background_at.load(Ordering::Relaxed);
        due && !self.background_running.swap(true, Ordering::AcqRel)
    }

    /// Joins the request in flight, or starts `fetch` as the new one. The returned future
    /// stores a successful result in the entry. With `accept_cached`, a token that became
    /// fresh since the caller looked is returned instead of starting a request: a request that
    /// finishes stores its token before it leaves the slot, so checking under the slot's lock
    /// closes the gap in which two callers could each start one.
    pub(crate) fn join_or_start<F>(self: &Arc<Self>, accept_cached: bool, fetch: F) -> Fetch
    where
        F: FnOnce() -> Pin<Box<dyn Future<Output = Result<AccessToken>> + Send>>,
    {
        self.begin(None, accept_cached, fetch)
    }

    /// Starts `fetch`, a request with `claims`, unless a request with the same claims is in
    /// flight (then joins it): a request without them could bring back the very token the
    /// claims challenge refused. Its token replaces the cached one.
    pub(crate) fn start_with_claims<F>(self: &Arc<Self>, claims: &Claims, fetch: F) -> Fetch
    where
        F: FnOnce() -> Pin<Box<dyn Future<Output = Result<AccessToken>> + Send>>,
    {
        self.begin(Some(claims), false, fetch)
    }

    /// The cached token, fresh or not (the one a request with claims replaces).
    pub(crate) fn current(&self) -> Option<Arc<AccessToken>> {
        self.current.load_full()
    }

    fn begin<F>(self: &Arc<Self>, claims: Option<&Claims>, accept_cached: bool, fetch: F) -> Fetch
    where
        F: FnOnce() -> Pin<Box<dyn Future<Output = Result<AccessToken>> + Send>>,
    {
        let mut slot = self.inflight.lock();
        let joinable = slot
            .as_ref()
            .filter(|f| claims.is_none() || f.claims.as_ref() == claims)
            .and_then(|f| f.request.upgrade());
        if let Some(running) = joinable {
            return running;
        }
        if accept_cached {
            let now = now_secs();
            if let Some(token) = self.current.load_full() {
                if now < token.expires_on - EXPIRY_MARGIN_SECS {
                    let ready: BoxFetch = Box::pin(std::future::ready(Ok(token)));
                    return ready.shared();
                }
            }
        }
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let entry = Arc::clone(self);
        let request = fetch();
        let fut: BoxFetch = Box::pin(async move {
            let result = request.await.map(Arc::new);
            let mut slot = entry.inflight.lock();
            if let Ok(token) = &result {
                if entry.stored_generation.load(Ordering::Relaxed) < generation {
                    entry.stored_generation.store(generation, Ordering::Relaxed);
                    entry.current.store(Some(Arc::clone(token)));
                }
            }
            if slot.as_ref().is_some_and(|f| f.generation == generation) {
                *slot = None;
            }
            result
        });
        let shared = fut.shared();
        *slot = Some(InFlight {
            generation,
            claims: claims.cloned(),
            request: shared.downgrade().expect("a new future has not completed"),
        });
        shared
    }

    /// Records the end of a background refresh; after a failure the next one waits a while.
    pub(crate) fn background_finished(&self, succeeded: bool) {
        if !succeeded {
            self.next_background_at
                .store(now_secs() + BACKGROUND_RETRY_SECS, Ordering::Relaxed);
        }
        self.background_running.store(false, Ordering::Release);
    }
}

/// All entries, by source (endpoint + identity) and then resource, so that a lookup needs no
/// allocation. Readers load a snapshot without a lock; the rare writers (a new entry, clear)
/// replace it whole, one at a time.
#[derive(Default)]
pub(crate) struct TokenCache {
    map: ArcSwap<BySource>,
    writer: Mutex<()>,
}

impl TokenCache {
    /// Calls `f` with the entry of `resource` (normalized), borrowed from the current snapshot.
    pub(crate) fn with_entry<R>(
        &self,
        source: &SourceKey,
        resource: &[u8],
        f: impl FnOnce(&Arc<Entry>) -> R,
    ) -> Option<R> {
        let map = self.map.load();
        map.get(source)?.get(resource).map(f)
    }

    pub(crate) fn get(&self, source: &SourceKey, resource: &str) -> Option<Arc<Entry>> {
        self.with_entry(source, resource.as_bytes(), Arc::clone)
    }

    /// The entry of `resource` (normalized), created when there is none.
    pub(crate) fn get_or_insert(&self, source: &SourceKey, resource: &str) -> Arc<Entry> {
        if let Some(e) = self.get(source, resource) {
            return e;
        }
        let _writer = self.writer.lock();
        if let Some(e) = self.get(source, resource) {
            return e;
        }
        let mut map = BySource::clone(&self.map.load());
        let entry = Arc::clone(
            map.entry(source.clone())
                .or_default()
                .entry(resource.as_bytes().into())
                .or_insert_with(|| Arc::new(Entry::new(resource))),
        );
        self.map.store(Arc::new(map));
        entry
    }

    /// Forgets every token (their memory is wiped once no caller holds them).
    pub(crate) fn clear(&self) {
        let _writer = self.writer.lock();
        self.map.store(Arc::new(BySource::default()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn token(expires_on: i64, refresh_at: Option<i64>) -> AccessToken {
        AccessToken::new("t", "Bearer", "r", expires_on, refresh_at)
    }

    #[test]
    fn tokens_are_fresh_until_five_minutes_before_expiry() {
        let e = Arc::new(Entry::default());
        e.current.store(Some(Arc::new(token(10_000, None))));
        assert!(e.fresh(10_000 - 301).is_some());
        assert!(e.fresh(10_000 - 300).is_none());
        assert!(e.fresh(20_000).is_none());
    }

    #[test]
    fn background_refresh_is_claimed_once_and_backs_off_after_failure() {
        let e = Arc::new(Entry::default());
        e.current
            .store(Some(Arc::new(token(i64::MAX / 2, Some(100)))));
        assert!(!e.fresh(99).unwrap().start_background_refresh);
        assert!(e.fresh(100).unwrap().start_background_refresh);
        assert!(
            !e.fresh(101).unwrap().start_background_refresh,
            "one refresh at a time"
        );
        e.background_finished(false);
        let now = now_secs();
        assert!(!e.fresh(now).unwrap().start_background_refresh);
        assert!(
            e.fresh(now + BACKGROUND_RETRY_SECS)
                .unwrap()
                .start_background_refresh
        );
    }

    #[test]
    fn the_fast_hash_tells_short_strings_apart() {
        let hash = |b: &[u8]| FastHash::default().hash_one(b);
        let mut seen = std::collections::HashSet::new();
        let text = b"https://management.azure.com/.default";
        for len in 0..=text.len() {
            assert!(seen.insert(hash(&text[..len])), "{len}");
        }
        // Each byte of the tail counts, wherever it is.
        for len in 1..8 {
            for at in 0..len {
                let mut bytes = vec![b'a'; len];
                bytes[at] = b'b';
                assert!(seen.insert(hash(&bytes)), "{len} {at}");
            }
        }
        assert_eq!(
            tail_word(b"\x01\x02\x03\x04\x05\x06\x07"),
            0x0007_0605_0403_0201
        );
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_request() {
        let e = Arc::new(Entry::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let start = |e: &Arc<Entry>| {
            let calls = Arc::clone(&calls);
            e.join_or_start(false, move || {
                Box::pin(async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    Ok(token(i64::MAX / 2, None))
                })
            })
        };
        let (a, b) = tokio::join!(start(&e), start(&e));
        assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(e.fresh(now_secs()).is_some(), "result stored");
        // Once finished, the next request is a new one.
        start(&e).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_token_stored_meanwhile_is_taken_instead_of_a_new_request() {
        let e = Arc::new(Entry::default());
        e.current.store(Some(Arc::new(token(i64::MAX / 2, None))));
        let fetched = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&fetched);
        let got = e
            .join_or_start(true, move || {
                Box::pin(async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok(token(i64::MAX / 2, None))
                })
            })
            .await
            .unwrap();
        assert_eq!(fetched.load(Ordering::SeqCst), 0);
        assert!(Arc::ptr_eq(&got, &e.current.load_full().unwrap()));
    }

    fn named(name: &str, expires_on: i64) -> AccessToken {
        AccessToken::new(name, "Bearer", "r", expires_on, None)
    }

    #[tokio::test]
    async fn a_request_with_claims_never_joins_one_without_them() {
        let e = Arc::new(Entry::default());
        let claims =
            Claims::parse(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#).unwrap();
        let plain = e.join_or_start(false, || {
            Box::pin(async {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                Ok(named("old", i64::MAX / 2))
            })
        });
        let with_claims = e.start_with_claims(&claims, || {
            Box::pin(async { Ok(named("new", i64::MAX / 2)) })
        });
        // The same claims join the request with claims; none join it too (it is newer).
        let joined = e.start_with_claims(&claims, || Box::pin(async { unreachable!() }));
        let ordinary = e.join_or_start(false, || Box::pin(async { unreachable!() }));
        let (plain, with_claims, joined, ordinary) =
            tokio::join!(plain, with_claims, joined, ordinary);
        // Test strings, not tokens; compared without printing them all the same.
        assert!(plain.unwrap().secret() == "old");
        assert!(with_claims.as_ref().unwrap().secret() == "new");
        assert!(Arc::ptr_eq(with_claims.as_ref().unwrap(), &joined.unwrap()));
        assert!(Arc::ptr_eq(
            with_claims.as_ref().unwrap(),
            &ordinary.unwrap()
        ));
        // The older request finished last, but its token does not replace the newer one.
        assert!(e.current().unwrap().secret() == "new");
    }

    #[tokio::test]
    async fn a_request_nobody_waits_for_is_dropped_and_started_afresh() {
        let e = Arc::new(Entry::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let start = |e: &Arc<Entry>, ms: u64| {
            let calls = Arc::clone(&calls);
            e.join_or_start(false, move || {
                Box::pin(async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                    Ok(token(i64::MAX / 2, None))
                })
            })
        };
        let slow = start(&e, 10_000);
        let timed_out = tokio::time::timeout(std::time::Duration::from_millis(20), slow).await;
        assert!(timed_out.is_err());
        start(&e, 1).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
