//! Azure Cloud Shell: `POST MSI_ENDPOINT` with the form `resource=…` and `Metadata: true`. It
//! gives the signed-in user's token; no identity can be chosen.

pub(super) fn request(
    http: &reqwest::Client,
    endpoint: &url::Url,
    resource: &str,
) -> reqwest::RequestBuilder {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("resource", resource)
        .finish();
    http.post(endpoint.clone())
        .header("Metadata", "true")
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
}
