//! AWS credentials and region, found where AWS's own tools look, for S3
//! stores and the DynamoDB export alike. In order:
//!
//! 1. `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`);
//! 2. the profile `AWS_PROFILE` (else `default`) of the shared files
//!    (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`, and
//!    `AWS_CONFIG_FILE`, default `~/.aws/config`): static keys, or a web
//!    identity (`role_arn` + `web_identity_token_file`);
//! 3. a web identity token (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`:
//!    EKS IRSA), ECS task or EKS Pod Identity credentials, and last the EC2
//!    instance metadata service (unless `AWS_EC2_METADATA_DISABLED=true`):
//!    object_store's chain, which also refreshes temporary credentials.
//!
//! A profile that needs what fletch does not do (`credential_process`, SSO,
//! `source_profile` chains) is an error naming it, not a silent fallback.

use std::collections::HashMap;
use std::path::PathBuf;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, AwsCredentialProvider};

use crate::error::{Error, Result};

/// A builder for S3 stores with the credentials and region of the chain
/// above; `AWS_ENDPOINT_URL` points it at an S3-compatible server.
pub fn s3_builder() -> Result<AmazonS3Builder> {
    builder_with(AmazonS3Builder::from_env(), &|name| std::env::var(name).ok())
}

/// [`s3_builder`] over `builder` with the environment `env`.
fn builder_with(mut builder: AmazonS3Builder, env: &dyn Fn(&str) -> Option<String>) -> Result<AmazonS3Builder> {
    let env = |name: &str| env(name).filter(|v| !v.is_empty());
    let keys = env("AWS_ACCESS_KEY_ID").is_some();
    let region = env_region(&env);
    // The profile files are read only when they can matter, and once.
    let profile = if keys && region.is_some() { None } else { Profile::selected(&env)? };
    if !keys {
        if let Some(profile) = &profile {
            builder = profile.configure(builder)?;
        } else if env("AWS_WEB_IDENTITY_TOKEN_FILE").is_none()
            && env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_none()
            && env("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_none()
            && env("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return Err(Error::usage(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN); the instance metadata service is disabled (AWS_EC2_METADATA_DISABLED)",
            ));
        }
    }
    if region.is_none()
        && let Some(region) = profile.as_ref().and_then(Profile::region)
    {
        builder = builder.with_region(region);
    }
    if let Some(endpoint) = env("AWS_ENDPOINT_URL") {
        builder = builder.with_allow_http(endpoint.starts_with("http://")).with_endpoint(endpoint);
    }
    Ok(builder)
}

/// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
fn env_region(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION"))
}

/// The chain's credentials, for signing requests to other AWS services.
pub fn credentials() -> Result<AwsCredentialProvider> {
    // Building a store is how object_store assembles its chain; the bucket is never used.
    let s3 = s3_builder()?.with_bucket_name("unused").build().map_err(|e| Error::usage(format!("AWS configuration: {e}")))?;
    Ok(s3.credentials().clone())
}

/// The region: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's.
pub fn region() -> Result<Option<String>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match env_region(&env) {
        Some(region) => Ok(Some(region)),
        None => Ok(Profile::selected(&env)?.as_ref().and_then(Profile::region)),
    }
}

/// One profile's settings, from both shared files (the credentials file wins).
struct Profile {
    name: String,
    /// Where the settings came from, for errors.
    files: String,
    settings: HashMap<String, String>,
}

impl Profile {
    /// `AWS_PROFILE`'s profile (an error when no file has it), else the
    /// `default` profile when a file has one.
    fn selected(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        let home = env("HOME").map(PathBuf::from).unwrap_or_default();
        let file = |var: &str, default: &str| env(var).map_or_else(|| home.join(".aws").join(default), PathBuf::from);
        let (config, credentials) = (file("AWS_CONFIG_FILE", "config"), file("AWS_SHARED_CREDENTIALS_FILE", "credentials"));
        let chosen = env("AWS_PROFILE");
        let name = chosen.clone().unwrap_or_else(|| "default".to_string());
        let mut settings = HashMap::new();
        // The config file names sections `[profile NAME]`, except `[default]`.
        for (path, section) in [(&config, if name == "default" { name.clone() } else { format!("profile {name}") }), (&credentials, name.clone())] {
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(format!("AWS profile file {}: {e}", path.display()))),
            };
            settings.extend(ini_section(&text, &section));
        }
        let files = format!("{} and {}", credentials.display(), config.display());
        match (settings.is_empty(), chosen) {
            (true, Some(name)) => Err(Error::usage(format!("AWS_PROFILE: no profile `{name}` in {files}"))),
            (true, None) => Ok(None),
            (false, _) => Ok(Some(Self { name, files, settings })),
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }

    fn region(&self) -> Option<String> {
        self.get("region").map(str::to_string)
    }

    /// `builder` with this profile's credentials.
    fn configure(&self, builder: AmazonS3Builder) -> Result<AmazonS3Builder> {
        let unsupported = ["credential_process", "sso_session", "sso_start_url", "source_profile", "credential_source"];
        if let Some(key) = unsupported.iter().find(|k| self.settings.contains_key(**k)) {
            return Err(Error::usage(format!(
                "AWS profile `{}` ({}) uses `{key}`, which fletch does not support; give it static keys or a web identity, or export credentials into AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                self.name, self.files
            )));
        }
        match (self.get("aws_access_key_id"), self.get("aws_secret_access_key"), self.get("role_arn"), self.get("web_identity_token_file")) {
            (Some(key), Some(secret), _, _) => {
                let builder = builder.with_access_key_id(key).with_secret_access_key(secret);
                Ok(match self.get("aws_session_token") {
                    Some(token) => builder.with_token(token),
                    None => builder,
                })
            }
            (None, None, Some(role), Some(token_file)) => Ok(builder
                .with_config(AmazonS3ConfigKey::RoleArn, role)
                .with_config(AmazonS3ConfigKey::WebIdentityTokenFile, token_file)),
            // Only a region, say: the rest of the chain finds the credentials.
            (None, None, None, None) => Ok(builder),
            _ => Err(Error::usage(format!(
                "AWS profile `{}` ({}): expected aws_access_key_id with aws_secret_access_key, or role_arn with web_identity_token_file",
                self.name, self.files
            ))),
        }
    }
}

/// The `key = value` lines of `[section]` in an INI file (keys lower-cased;
/// indented lines, which belong to a nested setting, are skipped).
fn ini_section(text: &str, section: &str) -> HashMap<String, String> {
    let mut inside = false;
    let mut settings = HashMap::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            inside = name.split_whitespace().collect::<Vec<_>>().join(" ") == section;
        } else if inside
            && !line.starts_with(char::is_whitespace)
            && let Some((key, value)) = trimmed.split_once('=')
        {
            settings.insert(key.trim().to_lowercase(), value.trim().to_string());
        }
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chain as object_store runs it, from an environment of `vars` and
    /// nothing else (no keys, no metadata service).
    async fn resolve(vars: &[(&str, &str)]) -> Result<(String, Option<String>)> {
        let env = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        let builder = builder_with(AmazonS3Builder::new(), &env)?;
        let region = builder.get_config_value(&AmazonS3ConfigKey::Region);
        let s3 = builder.with_bucket_name("b").build().unwrap();
        Ok((s3.credentials().get_credential().await.unwrap().key_id.clone(), region))
    }

    #[tokio::test]
    async fn profiles_give_keys_and_region() {
        let dir = tempfile::tempdir().unwrap();
        let (credentials, config) = (dir.path().join("credentials"), dir.path().join("config"));
        std::fs::write(&credentials, "[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = x\n[etl]\naws_access_key_id = ETLKEY\naws_secret_access_key = y\naws_session_token = t\n").unwrap();
        std::fs::write(&config, "[profile etl]\nregion = eu-central-1\n[profile sso]\nsso_session = corp\n").unwrap();
        let files = [("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()), ("AWS_CONFIG_FILE", config.to_str().unwrap())];
        assert_eq!(resolve(&files).await.unwrap(), ("DEFAULTKEY".to_string(), None));
        let etl = [files[0], files[1], ("AWS_PROFILE", "etl")];
        assert_eq!(resolve(&etl).await.unwrap(), ("ETLKEY".to_string(), Some("eu-central-1".to_string())));
        let keys_win = [files[0], files[1], ("AWS_PROFILE", "etl"), ("AWS_ACCESS_KEY_ID", "ENVKEY")];
        assert!(builder_with(AmazonS3Builder::new(), &|n| keys_win.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())).is_ok());
        let missing = resolve(&[files[0], files[1], ("AWS_PROFILE", "nope")]).await.unwrap_err().to_string();
        assert!(missing.contains("no profile `nope` in") && missing.contains("credentials"), "{missing}");
        let sso = resolve(&[files[0], files[1], ("AWS_PROFILE", "sso")]).await.unwrap_err().to_string();
        assert!(sso.contains("AWS profile `sso`") && sso.contains("`sso_session`, which fletch does not support"), "{sso}");
        let none = resolve(&[("HOME", dir.path().to_str().unwrap()), ("AWS_EC2_METADATA_DISABLED", "true")]).await.unwrap_err().to_string();
        assert!(none.starts_with("no AWS credentials"), "{none}");
    }

    #[test]
    fn ini_sections_are_read_by_exact_name() {
        let text = "[default]\nregion = eu-west-1\n\n[profile ci]\n# a comment\naws_access_key_id = AKIA1\nAWS_Secret_Access_Key=s3cr3t\ns3 =\n  max_concurrent_requests = 4\n[profile cider]\nregion = x\n";
        assert_eq!(ini_section(text, "default"), HashMap::from([("region".into(), "eu-west-1".into())]));
        let ci = ini_section(text, "profile ci");
        assert_eq!(ci.get("aws_access_key_id").map(String::as_str), Some("AKIA1"));
        assert_eq!(ci.get("aws_secret_access_key").map(String::as_str), Some("s3cr3t"));
        assert!(!ci.contains_key("max_concurrent_requests"), "nested settings stay out: {ci:?}");
        assert!(ini_section(text, "profile c").is_empty());
    }
}
