//! Azure Machine Learning compute: `GET MSI_ENDPOINT` with api-version 2017-09-01, the
//! `secret` header, and the identity by `clientid` (the one `DEFAULT_IDENTITY_CLIENT_ID` names
//! when none is given).

use secrecy::SecretString;

use super::secret_header;

pub(crate) const API_VERSION: &str = "2017-09-01";

pub(super) fn request(
    http: &reqwest::Client,
    endpoint: &url::Url,
    secret: &SecretString,
    client_id: Option<&str>,
    resource: &str,
) -> reqwest::RequestBuilder {
    let mut url = endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("api-version", API_VERSION);
        q.append_pair("resource", resource);
        if let Some(id) = client_id {
            q.append_pair("clientid", id);
        }
    }
    http.get(url)
        .header("Metadata", "true")
        .header("secret", secret_header(secret))
}
