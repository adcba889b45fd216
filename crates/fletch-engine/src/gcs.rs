//! Google Cloud Storage with the credentials Google's own libraries find: a
//! service account key file (`GOOGLE_APPLICATION_CREDENTIALS` or
//! `GOOGLE_SERVICE_ACCOUNT`) or key (`GOOGLE_SERVICE_ACCOUNT_KEY`), the
//! application default credentials of `gcloud auth application-default
//! login`, and last the metadata server (GKE workload identity, Compute
//! Engine): object_store's chain. `STORAGE_EMULATOR_HOST`, the variable
//! Google's client libraries honour (the TAAR service's among them), points
//! every process at an emulator instead, with a placeholder token (emulators
//! accept any), plain HTTP allowed.

use std::sync::Arc;

use object_store::gcp::{GcpCredential, GoogleCloudStorageBuilder};
use object_store::{ClientOptions, StaticCredentialProvider};

/// A builder for `gs://` stores configured as above.
pub fn gcs_builder() -> GoogleCloudStorageBuilder {
    builder_with(GoogleCloudStorageBuilder::from_env(), std::env::var("STORAGE_EMULATOR_HOST").ok())
}

fn builder_with(builder: GoogleCloudStorageBuilder, emulator: Option<String>) -> GoogleCloudStorageBuilder {
    match emulator.filter(|h| !h.is_empty()) {
        None => builder,
        Some(host) => {
            // Google's libraries accept the host with or without a scheme.
            let base = if host.contains("://") { host } else { format!("http://{host}") };
            // A token rather than skip_signature: object_store 0.13 asks the
            // credential chain for one on writes even when told to skip signing.
            let token = GcpCredential { bearer: "emulator".into() };
            builder
                .with_base_url(base.trim_end_matches('/'))
                .with_credentials(Arc::new(StaticCredentialProvider::new(token)))
                .with_client_options(ClientOptions::new().with_allow_http(true))
        }
    }
}

#[cfg(test)]
mod tests {
    use object_store::gcp::GoogleConfigKey;

    use super::*;

    #[test]
    fn the_emulator_host_becomes_the_base_url() {
        let b = builder_with(GoogleCloudStorageBuilder::new(), Some("127.0.0.1:9023".into()));
        assert_eq!(b.get_config_value(&GoogleConfigKey::BaseUrl).as_deref(), Some("http://127.0.0.1:9023"));
        let b = builder_with(GoogleCloudStorageBuilder::new(), Some("http://localhost:4443/".into()));
        assert_eq!(b.get_config_value(&GoogleConfigKey::BaseUrl).as_deref(), Some("http://localhost:4443"));
        let b = builder_with(GoogleCloudStorageBuilder::new(), Some(String::new()));
        assert_eq!(b.get_config_value(&GoogleConfigKey::BaseUrl), None);
    }
}
