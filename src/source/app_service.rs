//! App Service, Azure Functions and Azure Automation cloud jobs: `GET IDENTITY_ENDPOINT` with
//! api-version 2019-08-01 and the `X-IDENTITY-HEADER` secret; a user-assigned identity by
//! `client_id`, `object_id` or `mi_res_id`; `xms_cc` and `token_sha256_to_refresh` for
//! continuous access evaluation (see `revocation_query`).

use secrecy::SecretString;

use super::secret_header;
use crate::identity::IdentityId;

pub(crate) const API_VERSION: &str = "2019-08-01";

pub(super) fn request(
    http: &reqwest::Client,
    endpoint: &url::Url,
    secret: &SecretString,
    identity: &IdentityId,
    resource: &str,
    revocation: &[(&str, std::borrow::Cow<'_, str>)],
) -> reqwest::RequestBuilder {
    let mut url = endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("api-version", API_VERSION);
        q.append_pair("resource", resource);
        match identity {
            IdentityId::SystemAssigned => {}
            IdentityId::ClientId(v) => {
                q.append_pair("client_id", v);
            }
            IdentityId::ObjectId(v) => {
                q.append_pair("object_id", v);
            }
            // Not IMDS's msi_res_id: App Service names it mi_res_id.
            IdentityId::ResourceId(v) => {
                q.append_pair("mi_res_id", v);
            }
        }
        for (name, value) in revocation {
            q.append_pair(name, value);
        }
    }
    http.get(url)
        .header("X-IDENTITY-HEADER", secret_header(secret))
}
