use reqwest::StatusCode;

/// What went wrong talking to a vendor. Every variant names the endpoint (method and path,
/// never the query string or a credential) so that a log line says where to look.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{endpoint}: no response: {detail}")]
    Transport { endpoint: String, detail: String },
    #[error("{endpoint}: timed out after {seconds:.0}s")]
    Timeout { endpoint: String, seconds: f64 },
    #[error("{endpoint}: HTTP {status}: {message}")]
    Status {
        endpoint: String,
        status: StatusCode,
        message: String,
    },
    #[error("{endpoint}: login refused: HTTP {status}: {message}")]
    LoginRefused {
        endpoint: String,
        status: StatusCode,
        message: String,
    },
    #[error("{endpoint}: could not decode the response: {detail}")]
    Decode { endpoint: String, detail: String },
    #[error("configuration: {0}")]
    Config(String),
}

impl ApiError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ApiError::Status { status, .. } | ApiError::LoginRefused { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// A 404 from an optional endpoint usually means the vendor release lacks the feature.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }
}
