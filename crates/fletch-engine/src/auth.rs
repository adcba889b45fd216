//! A shared token on the scheduler's port.
//!
//! - The scheduler's gRPC service: clients send `authorization: Bearer
//!   <token>` (fletch's own through Ballista's gRPC metadata). Executors cannot
//!   add headers to Ballista's scheduler client, only choose its user agent,
//!   so they present the token there (`fletch-executor token=<token>`).
//! - Flight SQL: the Flight handshake, with the token as the password of
//!   HTTP Basic credentials (any user name), as ADBC drivers do with
//!   `username`/`password`; Ballista's frontend then issues the session's own
//!   bearer token, so Flight SQL calls are checked by it, not here.

use std::path::Path;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use ballista_flight_sql::auth::{Authenticator, Identity};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as BASE64;
use tonic::Status;
use tonic::metadata::MetadataMap;

use crate::error::{Error, Result};

/// A shared secret, never printed.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

const EXECUTOR_AGENT: &str = "fletch-executor token=";

impl Token {
    /// Reads `--auth-token-file`: its first line, at least 16 characters.
    pub fn from_file(path: &Path) -> Result<Self> {
        Self::read("--auth-token-file", path)
    }

    /// Reads the token file given as `flag`: its first line, at least 16 characters.
    pub fn read(flag: &str, path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::usage(format!("{flag}: cannot read {}: {e}", path.display())))?;
        let token = text.lines().next().unwrap_or_default().trim().to_string();
        if token.len() < 16 || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::usage(format!("{flag}: {} must hold one token of at least 16 printable characters", path.display())));
        }
        Ok(Self(token))
    }

    /// The `authorization` header a client sends.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// The user agent an executor's scheduler client sends.
    pub fn executor_agent(&self) -> String {
        format!("{EXECUTOR_AGENT}{}", self.0)
    }

    /// Whether a request's headers carry this token, as a client's bearer
    /// token or an executor's user agent.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        self.admits_bearer(headers) || self.is(presented(headers, "user-agent", EXECUTOR_AGENT))
    }

    /// Whether a request carries `authorization: Bearer <this token>` (an
    /// HTTP service, where no executor calls).
    pub fn admits_bearer(&self, headers: &HeaderMap) -> bool {
        self.is(presented(headers, "authorization", "Bearer "))
    }

    fn is(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|t| constant_time_eq(t.as_bytes(), self.0.as_bytes()))
    }
}

/// The Flight SQL handshake: Basic credentials whose password is the token.
#[async_trait]
impl Authenticator for Token {
    async fn authenticate(&self, headers: &MetadataMap) -> std::result::Result<Identity, Status> {
        let basic = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic "));
        // Go's Flight client (ADBC) leaves the padding out.
        let decoded = basic.and_then(|b| BASE64.decode(b.trim().trim_end_matches('=')).ok()).and_then(|b| String::from_utf8(b).ok());
        match decoded.as_deref().and_then(|d| d.split_once(':')) {
            Some((user, password)) if constant_time_eq(password.as_bytes(), self.0.as_bytes()) => Ok(Identity::user(user)),
            _ => Err(Status::unauthenticated("wrong or missing credentials: the password is the scheduler's token (--auth-token-file)")),
        }
    }
}

/// The first word after `prefix` of header `name`.
fn presented<'a>(headers: &'a HeaderMap, name: &str, prefix: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix(prefix)).map(|t| t.split(' ').next().unwrap_or_default())
}

/// Equal bytes, in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What an unauthenticated request gets: gRPC's UNAUTHENTICATED status for
/// gRPC clients (Flight SQL included), a plain 401 for everything else.
pub fn refusal(request: &Request<Body>) -> Response<Body> {
    let grpc = request.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/grpc"));
    let message = "missing or wrong token: this scheduler requires authorization: Bearer <token> (--auth-token-file)";
    if grpc {
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/grpc")
            .header("grpc-status", "16")
            .header("grpc-message", HeaderValue::from_str(message).expect("ASCII message"))
            .body(Body::empty())
            .expect("a valid response")
    } else {
        Response::builder().status(StatusCode::UNAUTHORIZED).body(Body::from(format!("{message}\n"))).expect("a valid response")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_bearer_and_executor_agent_only_with_the_right_token() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "s3cret-token-0123456789\n").unwrap();
        let token = Token::from_file(&file).unwrap();
        let headers = |name: &'static str, value: &str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_str(value).unwrap());
            h
        };
        assert!(token.admits(&headers("authorization", "Bearer s3cret-token-0123456789")));
        assert!(token.admits(&headers("user-agent", "fletch-executor token=s3cret-token-0123456789 tonic/0.14")));
        assert!(!token.admits(&headers("authorization", "Bearer s3cret-token-012345678")));
        assert!(!token.admits(&headers("authorization", "s3cret-token-0123456789")));
        assert!(!token.admits(&HeaderMap::new()));
        assert!(token.admits_bearer(&headers("authorization", "Bearer s3cret-token-0123456789")));
        assert!(!token.admits_bearer(&headers("user-agent", "fletch-executor token=s3cret-token-0123456789")));
        assert_eq!(format!("{token:?}"), "Token(..)");
        // The Flight handshake: the token is the password; padded or not.
        let basic = |credentials: &str| {
            let mut m = MetadataMap::new();
            m.insert("authorization", format!("Basic {credentials}").parse().unwrap());
            m
        };
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for credentials in ["bm90ZWJvb2s6czNjcmV0LXRva2VuLTAxMjM0NTY3ODk", "bm90ZWJvb2s6czNjcmV0LXRva2VuLTAxMjM0NTY3ODk="] {
            assert_eq!(rt.block_on(token.authenticate(&basic(credentials))).unwrap(), Identity::user("notebook"));
        }
        assert!(rt.block_on(token.authenticate(&basic("bm90ZWJvb2s6d3Jvbmc="))).is_err());
        std::fs::write(&file, "short").unwrap();
        assert!(Token::from_file(&file).unwrap_err().to_string().contains("at least 16 printable characters"));
    }
}
