//! `Azmi`: the HTTP client, the token cache and what is known about endpoints, shared by every
//! operation. The C ABI uses one process-wide instance; Rust callers may make their own.

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::cache::{now_secs, Entry, TokenCache};
use crate::claims::{token_sha256_hex, Claims};
use crate::error::Result;
use crate::http::Network;
use crate::identity::{normalize_resource, resource_key, ManagedIdentity};
use crate::proxy::{Direct, ProxyRules, ProxySetting, Route};
use crate::source::imds::EndpointProbes;
use crate::source::{request_token, PinnedClients, Refresh, Source, Transport};
use crate::token::AccessToken;

/// A token and where it came from.
#[derive(Clone, Debug)]
pub struct TokenGrant {
    pub token: Arc<AccessToken>,
    /// Served from the cache without a request.
    pub from_cache: bool,
}

impl TokenGrant {
    /// The managed identity source that issued the token.
    pub fn source(&self) -> Source {
        self.token.source()
    }
}

struct Inner {
    /// The HTTP clients and proxy rules, swapped whole when the trusted CAs or the proxy
    /// change; requests in flight keep the old ones.
    net: ArcSwap<Network>,
    probes: EndpointProbes,
    /// HTTP clients pinned to Service Fabric endpoint certificates, by thumbprint.
    pinned: PinnedClients,
    cache: TokenCache,
    /// The token resource each Key Vault (by origin) named in its 401 challenge, so that later
    /// requests need not ask again (the SDKs keep the same cache).
    challenges: parking_lot::Mutex<std::collections::HashMap<String, String>>,
    /// Held while the CAs or the proxy change, so that one change cannot undo another.
    settings: parking_lot::Mutex<()>,
    /// Where background refreshes run; the current runtime when `None`.
    spawner: Option<tokio::runtime::Handle>,
}

impl Inner {
    /// One token request to the identity's source, with the HTTP client of the moment.
    async fn request(
        &self,
        mi: &ManagedIdentity,
        resource: &str,
        refresh: Option<&Refresh>,
    ) -> Result<AccessToken> {
        let net = self.net.load_full();
        let transport = Transport {
            net: &net,
            probes: &self.probes,
            pinned: &self.pinned,
        };
        request_token(&transport, mi, resource, refresh).await
    }
}

/// The shared state of azmi: cheap to clone, safe to use from any thread.
#[derive(Clone)]
pub struct Azmi {
    inner: Arc<Inner>,
}

impl Azmi {
    /// A new instance with its own cache, trusting the system's roots and the CA file named by
    /// `AZMI_CA_FILE`, with the proxy the environment names (read now, once). Background
    /// refreshes run on the runtime current when a refresh falls due.
    pub fn new() -> Result<Azmi> {
        Self::build(
            None,
            crate::http::ca_file_from_env().as_deref(),
            &ProxySetting::Environment,
        )
    }

    /// A new instance whose background refreshes run on `handle`, trusting `extra_ca` (a PEM
    /// file) besides the system's roots, with the proxy the environment names.
    pub fn with_runtime(handle: tokio::runtime::Handle, extra_ca: Option<&Path>) -> Result<Azmi> {
        Self::build(Some(handle), extra_ca, &ProxySetting::Environment)
    }

    /// As [`Azmi::with_runtime`], with the proxy `proxy` chooses.
    pub fn with_settings(
        handle: Option<tokio::runtime::Handle>,
        extra_ca: Option<&Path>,
        proxy: &ProxySetting,
    ) -> Result<Azmi> {
        Self::build(handle, extra_ca, proxy)
    }

    fn build(
        spawner: Option<tokio::runtime::Handle>,
        extra_ca: Option<&Path>,
        proxy: &ProxySetting,
    ) -> Result<Azmi> {
        let rules = Arc::new(ProxyRules::from_setting(proxy)?);
        Ok(Azmi {
            inner: Arc::new(Inner {
                net: ArcSwap::from_pointee(Network::new(extra_ca, rules)?),
                probes: EndpointProbes::default(),
                pinned: PinnedClients::default(),
                cache: TokenCache::default(),
                challenges: Default::default(),
                settings: parking_lot::Mutex::new(()),
                spawner,
            }),
        })
    }

    /// The cached token for `resource` if it is still good, without waiting for anything.
    /// `resource` must already be normalized (see [`normalize_resource`]).
    pub fn cached_token(&self, mi: &ManagedIdentity, resource: &str) -> Option<Arc<AccessToken>> {
        let entry = self.inner.cache.get(&mi.cache_key, resource)?;
        let fresh = entry.fresh(now_secs())?;
        if fresh.start_background_refresh {
            self.refresh_in_background(entry, mi);
        }
        Some(fresh.token)
    }

    /// As [`Azmi::cached_token`], but lends the token to `f` instead of sharing it, so that
    /// concurrent warm calls touch no shared reference count; and takes `resource` as the
    /// caller gave it (bytes not yet checked, a `/.default` scope or not): only a resource
    /// accepted before can match (see [`resource_key`]), so it is not checked again.
    pub(crate) fn with_cached_token<R>(
        &self,
        mi: &ManagedIdentity,
        resource: &[u8],
        f: impl FnOnce(&AccessToken) -> R,
    ) -> Option<R> {
        let (result, due) =
            self.inner
                .cache
                .with_entry(&mi.cache_key, resource_key(resource)?, |entry| {
                    entry
                        .with_fresh(now_secs(), f)
                        .map(|(r, start)| (r, start.then(|| Arc::clone(entry))))
                })??;
        if let Some(entry) = due {
            self.refresh_in_background(entry, mi);
        }
        Some(result)
    }

    /// A token for `resource` (a resource URI or a `/.default` scope): from the cache while it
    /// is good, else from the identity's endpoint. `force_refresh` skips the cache.
    pub async fn get_token(
        &self,
        mi: &ManagedIdentity,
        resource: &str,
        force_refresh: bool,
    ) -> Result<TokenGrant> {
        let resource = normalize_resource(resource)?;
        if !force_refresh {
            if let Some(token) = self.cached_token(mi, resource) {
                return Ok(TokenGrant {
                    token,
                    from_cache: true,
                });
            }
        }
        let entry = self.inner.cache.get_or_insert(&mi.cache_key, resource);
        let token = self.fetch(&entry, mi, resource, !force_refresh).await?;
        Ok(TokenGrant {
            token,
            from_cache: false,
        })
    }

    /// A new token for `resource` carrying `claims` (a claims challenge's, see [`Claims`]):
    /// the cached token is bypassed and replaced. App Service and Service Fabric are told which
    /// token to stop serving (`token_sha256_to_refresh`), workload identity gets the claims;
    /// the other sources take no claims, so there a new request is all that can be done.
    /// Concurrent callers with the same claims share one request.
    pub async fn get_token_with_claims(
        &self,
        mi: &ManagedIdentity,
        resource: &str,
        claims: &Claims,
    ) -> Result<TokenGrant> {
        let resource = normalize_resource(resource)?;
        let entry = self.inner.cache.get_or_insert(&mi.cache_key, resource);
        let refresh = Refresh {
            claims: claims.clone(),
            replaced_sha256: entry.current().map(|t| token_sha256_hex(&t)),
        };
        let inner = Arc::clone(&self.inner);
        let (mi, owned_resource) = (mi.clone(), resource.to_owned());
        let fetch = entry.start_with_claims(claims, move || {
            Box::pin(async move { inner.request(&mi, &owned_resource, Some(&refresh)).await })
        });
        Ok(TokenGrant {
            token: fetch.await?,
            from_cache: false,
        })
    }

    /// Trusts the certificates of `pem_file` (besides the system's roots) from now on, or only
    /// the system's roots with `None`.
    pub fn set_extra_ca(&self, pem_file: Option<&Path>) -> Result<()> {
        let _changing = self.inner.settings.lock();
        let net = self.inner.net.load().with_extra_ca(pem_file)?;
        self.inner.net.store(Arc::new(net));
        Ok(())
    }

    /// Chooses the proxy of service requests from now on (the environment is read again for
    /// [`ProxySetting::Environment`]). A setting that cannot be used changes nothing.
    pub fn set_proxy(&self, setting: &ProxySetting) -> Result<()> {
        let rules = Arc::new(ProxyRules::from_setting(setting)?);
        let _changing = self.inner.settings.lock();
        let net = self.inner.net.load().with_proxy(rules)?;
        self.inner.net.store(Arc::new(net));
        Ok(())
    }

    /// The proxy rules in force (see [`ProxyRules::route`] for a request's way).
    pub fn proxy(&self) -> Arc<ProxyRules> {
        Arc::clone(&self.inner.net.load().proxy)
    }

    /// Which way `mi`'s token requests go, as a sentence: direct for every managed identity
    /// endpoint; workload identity's exchange at Entra ID as a service request.
    pub fn token_route(&self, mi: &ManagedIdentity) -> String {
        match mi.source() {
            Source::WorkloadIdentity => self
                .inner
                .net
                .load()
                .proxy
                .route(mi.config().endpoint())
                .to_string(),
            _ => Route::Direct(Direct::ManagedIdentityEndpoint).to_string(),
        }
    }

    /// The HTTP clients and proxy rules for a request.
    pub(crate) fn network(&self) -> Arc<Network> {
        self.inner.net.load_full()
    }

    /// Forgets every cached token (and the resources Key Vaults asked for).
    pub fn clear_cache(&self) {
        self.inner.cache.clear();
        self.inner.challenges.lock().clear();
    }

    /// The resource the service at `origin` asked for in its last challenge.
    pub(crate) fn challenge_resource(&self, origin: &str) -> Option<String> {
        self.inner.challenges.lock().get(origin).cloned()
    }

    /// Remembers the resource the service at `origin` asked for.
    pub(crate) fn remember_challenge(&self, origin: &str, resource: &str) {
        self.inner
            .challenges
            .lock()
            .insert(origin.to_owned(), resource.to_owned());
    }

    /// Joins or starts the request that renews `entry` (or, with `accept_cached`, takes a token
    /// another caller stored meanwhile).
    fn fetch(
        &self,
        entry: &Arc<Entry>,
        mi: &ManagedIdentity,
        resource: &str,
        accept_cached: bool,
    ) -> crate::cache::Fetch {
        let inner = Arc::clone(&self.inner);
        let mi = mi.clone();
        let resource = resource.to_owned();
        entry.join_or_start(accept_cached, move || {
            Box::pin(async move { inner.request(&mi, &resource, None).await })
        })
    }

    fn refresh_in_background(&self, entry: Arc<Entry>, mi: &ManagedIdentity) {
        let spawner = self
            .inner
            .spawner
            .clone()
            .or_else(|| tokio::runtime::Handle::try_current().ok());
        let Some(spawner) = spawner else {
            // Nowhere to run it; the token is refreshed on demand when it expires.
            entry.background_finished(true);
            return;
        };
        let fetch = self.fetch(&entry, mi, &entry.resource, false);
        let what = format!("{} ({})", entry.resource, mi.identity);
        spawner.spawn(async move {
            let result = fetch.await;
            if let Err(e) = &result {
                log::debug!("background refresh of the token for {what} failed: {e}");
            }
            entry.background_finished(result.is_ok());
        });
    }
}
