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
    /// The body is larger than `max_response_bytes`: announced so by `Content-Length`
    /// (nothing read), or found so while reading (reading stopped there).
    #[error("{endpoint}: {}", too_large(*.limit, *.announced))]
    TooLarge {
        endpoint: String,
        limit: u64,
        announced: Option<u64>,
    },
    /// The bodies this target's client holds at once would pass `max_buffered_bytes`.
    #[error(
        "{endpoint}: response refused: with the responses of this target already held, it would pass the {} limit (max_buffered_bytes); reading stopped",
        ByteSize(*.limit)
    )]
    BufferFull { endpoint: String, limit: u64 },
    /// A redirect that the client refuses to follow. `location` is the scheme, host, port
    /// and path of where the vendor wanted to send us, never its query string.
    #[error("{endpoint}: HTTP {status} redirect to {location} not followed: {reason}")]
    Redirect {
        endpoint: String,
        status: StatusCode,
        location: String,
        reason: String,
    },
    #[error("configuration: {0}")]
    Config(String),
}

fn too_large(limit: u64, announced: Option<u64>) -> String {
    match announced {
        Some(n) => format!(
            "response refused: its Content-Length of {} is over the {} limit (max_response_bytes); nothing read",
            ByteSize(n),
            ByteSize(limit)
        ),
        None => format!(
            "response body over the {} limit (max_response_bytes); reading stopped there",
            ByteSize(limit)
        ),
    }
}

/// A byte count as people write it: `64 MiB`, `512 KiB`, `1.5 GiB`, `300 bytes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
        for (name, size) in UNITS {
            if self.0 >= size {
                let whole = self.0 / size;
                let tenths = (self.0 % size) * 10 / size;
                return if tenths == 0 {
                    write!(f, "{whole} {name}")
                } else {
                    write!(f, "{whole}.{tenths} {name}")
                };
            }
        }
        write!(f, "{} bytes", self.0)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_read_as_people_write_them() {
        assert_eq!(ByteSize(64 << 20).to_string(), "64 MiB");
        assert_eq!(ByteSize(1 << 30).to_string(), "1 GiB");
        assert_eq!(ByteSize(3 << 29).to_string(), "1.5 GiB");
        assert_eq!(ByteSize(1536).to_string(), "1.5 KiB");
        assert_eq!(ByteSize(300).to_string(), "300 bytes");
    }

    #[test]
    fn size_errors_name_the_endpoint_the_limit_and_the_key() {
        let e = ApiError::TooLarge {
            endpoint: "GET /v1/jobs".into(),
            limit: 64 << 20,
            announced: Some(1 << 30),
        };
        assert_eq!(
            e.to_string(),
            "GET /v1/jobs: response refused: its Content-Length of 1 GiB is over the 64 MiB limit (max_response_bytes); nothing read"
        );
        let e = ApiError::TooLarge {
            endpoint: "GET /v1/jobs".into(),
            limit: 64 << 20,
            announced: None,
        };
        assert_eq!(
            e.to_string(),
            "GET /v1/jobs: response body over the 64 MiB limit (max_response_bytes); reading stopped there"
        );
    }
}
