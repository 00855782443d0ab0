//! Our side of the connections: slow and greedy clients must not starve Prometheus or the
//! vendor refreshes of sockets.
//!
//! - At most [`connection_cap`] connections are open at once, well below the open-file
//!   limit (whose soft value is raised to the hard one at start), so vendor requests, the
//!   report files and the TLS reloads always find a file descriptor.
//! - When the cap is reached, a new connection is still accepted and the oldest connection
//!   that has no request in progress is closed: first those that never completed a request
//!   (a slowloris trickling its headers), then the longest idle. A real client, which sends
//!   its request at once, gets in even while 1,000 slow sockets knock.
//! - A connection must start its first request within [`FIRST_REQUEST_TIMEOUT`] (TLS
//!   handshake included); HTTP/1 request headers must arrive within
//!   [`HEADER_READ_TIMEOUT`] (hyper's timer, also between keep-alive requests); a
//!   connection with no request in progress for [`IDLE_TIMEOUT`] is closed (HTTP/2 too).
//! - Every route is a GET without a body: a request that announces one is answered 413
//!   before authentication, and its body is never read.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, connect_info::Connected};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// Connections open at once, at most (lowered to half the open-file limit).
pub const MAX_CONNECTIONS: usize = 512;
/// From accept to the first request: TLS handshake and request headers.
pub const FIRST_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/1 request headers, from the moment the server waits for them.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// No request in progress for this long closes the connection.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections being closed that may still hold their descriptor past the cap.
const CLOSING_SLACK: usize = 32;

/// The limits one server applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_connections: usize,
    pub first_request_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Limits {
    /// The defaults above, with the cap fitted under the open-file limit.
    pub fn for_nofile(soft_nofile: u64) -> Limits {
        Limits {
            max_connections: connection_cap(soft_nofile),
            first_request_timeout: FIRST_REQUEST_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
        }
    }
}

/// [`MAX_CONNECTIONS`], or half the open-file limit when that is lower (at least 8): the
/// other half stays for vendor requests and files.
pub fn connection_cap(soft_nofile: u64) -> usize {
    let half = usize::try_from(soft_nofile / 2).unwrap_or(usize::MAX);
    MAX_CONNECTIONS.min(half).max(8)
}

/// Raises the soft open-file limit to the hard one; returns the soft limit in force after.
#[cfg(unix)]
#[allow(clippy::useless_conversion)] // rlim_t is u64 on Linux, not everywhere
pub fn raise_nofile_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        } else {
            tracing::debug!(error = %io::Error::last_os_error(), "cannot raise the open-file limit");
        }
    }
    Ok(u64::try_from(lim.rlim_cur).unwrap_or(u64::MAX))
}

#[cfg(not(unix))]
pub fn raise_nofile_limit() -> io::Result<u64> {
    Ok(u64::MAX)
}

/// One accepted connection as the registry sees it.
struct Conn {
    id: u64,
    accepted: Instant,
    requests: AtomicU64,
    in_flight: AtomicUsize,
    /// Milliseconds after `accepted` when the last request ended.
    last_done_ms: AtomicU64,
    doomed: AtomicBool,
    waker: AtomicWaker,
}

impl Conn {
    fn doom(&self) {
        self.doomed.store(true, Ordering::Release);
        self.waker.wake();
    }

    fn is_doomed(&self) -> bool {
        self.doomed.load(Ordering::Acquire)
    }

    fn evictable(&self) -> bool {
        !self.is_doomed() && self.in_flight.load(Ordering::Acquire) == 0
    }

    /// When it last had something to do: accept, or the end of its last request.
    fn quiet_since(&self) -> Instant {
        self.accepted + Duration::from_millis(self.last_done_ms.load(Ordering::Acquire))
    }
}

struct Registry {
    limits: Limits,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    freed: Notify,
    evicted: AtomicU64,
    timed_out: AtomicU64,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Room for one more: under the cap, or a connection can make room; and not too many
    /// still closing.
    fn has_room(&self) -> bool {
        let conns = self.lock();
        if conns.len() >= self.limits.max_connections + CLOSING_SLACK {
            return false;
        }
        let live = conns.values().filter(|c| !c.is_doomed()).count();
        live < self.limits.max_connections || conns.values().any(|c| c.evictable())
    }

    fn register(self: &Arc<Self>) -> Arc<Conn> {
        let conn = Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            accepted: Instant::now(),
            requests: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            last_done_ms: AtomicU64::new(0),
            doomed: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        });
        let mut conns = self.lock();
        conns.insert(conn.id, conn.clone());
        let live = conns.values().filter(|c| !c.is_doomed()).count();
        if live > self.limits.max_connections {
            // Never-used connections first, oldest first; then the longest idle.
            let victim = conns
                .values()
                .filter(|c| c.id != conn.id && c.evictable())
                .min_by_key(|c| (c.requests.load(Ordering::Acquire) > 0, c.quiet_since()));
            if let Some(v) = victim {
                v.doom();
                self.evicted.fetch_add(1, Ordering::Relaxed);
            }
        }
        conn
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
        self.freed.notify_waiters();
    }

    /// Closes connections past their first-request or idle deadline.
    fn sweep(&self, now: Instant) {
        let conns = self.lock();
        for c in conns.values().filter(|c| c.evictable()) {
            let limit = if c.requests.load(Ordering::Acquire) == 0 {
                self.limits.first_request_timeout
            } else {
                self.limits.idle_timeout
            };
            if now.saturating_duration_since(c.quiet_since()) > limit {
                c.doom();
                self.timed_out.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The peer of a connection, and its place in the registry (for request tracking).
#[derive(Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    conn: Option<Arc<Conn>>,
}

impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.addr, f)
    }
}

impl axum_server::Address for Peer {
    type Stream = Stream;
    type Listener = Listener;
}

impl Connected<Peer> for Peer {
    fn connect_info(target: Peer) -> Self {
        target
    }
}

/// A TCP listener that keeps to the cap; see the module documentation.
pub struct Listener {
    inner: TcpListener,
    registry: Arc<Registry>,
}

/// What a running listener counts, for tests and logs.
#[derive(Clone)]
pub struct Stats(Arc<Registry>);

impl Stats {
    pub fn open(&self) -> usize {
        self.0.lock().len()
    }
    pub fn evicted(&self) -> u64 {
        self.0.evicted.load(Ordering::Relaxed)
    }
    pub fn timed_out(&self) -> u64 {
        self.0.timed_out.load(Ordering::Relaxed)
    }
    pub fn limits(&self) -> Limits {
        self.0.limits
    }
}

impl Listener {
    /// Wraps a bound listener; the sweeper runs until `stop` is cancelled.
    pub fn new(
        inner: TcpListener,
        limits: Limits,
        stop: tokio_util::sync::CancellationToken,
    ) -> (Listener, Stats) {
        let registry = Arc::new(Registry {
            limits,
            conns: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            freed: Notify::new(),
            evicted: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&registry);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                match weak.upgrade() {
                    Some(r) => r.sweep(Instant::now()),
                    None => return,
                }
            }
        });
        (
            Listener {
                inner,
                registry: registry.clone(),
            },
            Stats(registry),
        )
    }
}

/// Logs "out of file descriptors" at most once a minute.
fn warn_emfile(e: &io::Error) {
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if last.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
        *last = Some(Instant::now());
        tracing::warn!(error = %e, "accept failed: out of file descriptors; closing idle connections");
    }
}

impl axum_server::AddrListener<Stream, Peer> for Listener {
    async fn bind_to(_addr: Peer) -> io::Result<Self> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "bind first, then wrap the listener",
        ))
    }

    async fn accept_stream(&self) -> io::Result<(Stream, Peer)> {
        loop {
            while !self.registry.has_room() {
                let freed = self.registry.freed.notified();
                tokio::select! {
                    _ = freed => {}
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
            match self.inner.accept().await {
                Ok((io, addr)) => {
                    let _ = io.set_nodelay(true);
                    let conn = self.registry.register();
                    let peer = Peer {
                        addr,
                        conn: Some(conn.clone()),
                    };
                    let stream = Stream {
                        io,
                        conn,
                        registry: self.registry.clone(),
                    };
                    return Ok((stream, peer));
                }
                Err(e) if is_fd_exhaustion(&e) => {
                    warn_emfile(&e);
                    // Make room and let the descriptor come back before trying again.
                    let victim = self
                        .registry
                        .lock()
                        .values()
                        .filter(|c| c.evictable())
                        .min_by_key(|c| (c.requests.load(Ordering::Acquire) > 0, c.quiet_since()))
                        .cloned();
                    if let Some(v) = victim {
                        v.doom();
                        self.registry.evicted.fetch_add(1, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) if is_per_connection(&e) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn get_local_addr(&self) -> io::Result<Peer> {
        Ok(Peer {
            addr: self.inner.local_addr()?,
            conn: None,
        })
    }
}

fn is_fd_exhaustion(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// Errors about one connection that went away before it was accepted.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// An accepted connection; reading or writing fails once it is doomed, so hyper closes it.
pub struct Stream {
    io: TcpStream,
    conn: Arc<Conn>,
    registry: Arc<Registry>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.registry.remove(self.conn.id);
    }
}

fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection closed by the server (timeout or connection cap)",
    )
}

impl Stream {
    fn check(&self, cx: &mut Context<'_>) -> io::Result<()> {
        self.conn.waker.register(cx.waker());
        if self.conn.is_doomed() {
            Err(closed())
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Counts a request in progress on its connection, so that it is neither evicted nor
/// timed out while it runs.
struct InFlight(Arc<Conn>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let ms = u64::try_from(self.0.accepted.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.last_done_ms.store(ms, Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The outermost middleware: request tracking, then 413 for a request with a body.
pub async fn guard(req: Request, next: Next) -> Response {
    let _in_flight = req
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .and_then(|ConnectInfo(p)| p.conn.clone())
        .map(|c| {
            c.requests.fetch_add(1, Ordering::AcqRel);
            c.in_flight.fetch_add(1, Ordering::AcqRel);
            InFlight(c)
        });
    if has_body(&req) {
        tracing::debug!(path = %req.uri().path(), "request with a body refused");
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(CONNECTION, HeaderValue::from_static("close"))],
            "This server takes no request bodies\n",
        )
            .into_response();
    }
    next.run(req).await
}

/// A body announced by its length or by chunked transfer (HTTP/2: a length, or a stream
/// not ended with the headers, which hyper reports as an unknown size).
fn has_body(req: &Request) -> bool {
    use axum::body::HttpBody as _;
    let h = req.headers();
    if h.contains_key(TRANSFER_ENCODING) {
        return true;
    }
    if let Some(len) = h.get(CONTENT_LENGTH) {
        return len.as_bytes() != b"0";
    }
    !req.body().is_end_stream() && req.body().size_hint().upper() != Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(cap: usize) -> Arc<Registry> {
        Arc::new(Registry {
            limits: Limits {
                max_connections: cap,
                first_request_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(60),
            },
            conns: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            freed: Notify::new(),
            evicted: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
        })
    }

    #[test]
    fn the_cap_is_half_the_file_limit_at_most_and_never_tiny() {
        assert_eq!(connection_cap(1024), 512);
        assert_eq!(connection_cap(1_048_576), MAX_CONNECTIONS);
        assert_eq!(connection_cap(256), 128);
        assert_eq!(connection_cap(4), 8);
    }

    #[test]
    fn past_the_cap_the_oldest_unused_connection_goes_first_then_the_longest_idle() {
        let r = registry(3);
        let busy = r.register();
        busy.in_flight.store(1, Ordering::Release);
        busy.requests.store(1, Ordering::Release);
        let idle = r.register();
        idle.requests.store(1, Ordering::Release);
        let slow = r.register();
        assert!(r.has_room(), "idle and slow ones can make room");
        let newcomer = r.register();
        assert!(slow.is_doomed(), "never sent a request: first to go");
        assert!(!idle.is_doomed() && !busy.is_doomed() && !newcomer.is_doomed());
        r.remove(slow.id);
        newcomer.in_flight.store(1, Ordering::Release);
        let _another = r.register();
        assert!(idle.is_doomed(), "then the idle one, not the busy one");
        assert!(!busy.is_doomed());
        assert_eq!(r.evicted.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn with_every_connection_busy_there_is_no_room() {
        let r = registry(2);
        for _ in 0..2 {
            r.register().in_flight.store(1, Ordering::Release);
        }
        assert!(!r.has_room());
    }

    #[test]
    fn the_sweep_closes_late_first_requests_and_idle_connections_only() {
        let r = registry(10);
        let slow = r.register();
        let idle = r.register();
        idle.requests.store(1, Ordering::Release);
        let busy = r.register();
        busy.in_flight.store(1, Ordering::Release);
        let t0 = Instant::now();
        r.sweep(t0 + Duration::from_secs(5));
        assert!(!slow.is_doomed());
        r.sweep(t0 + Duration::from_secs(11));
        assert!(slow.is_doomed() && !idle.is_doomed());
        r.sweep(t0 + Duration::from_secs(61));
        assert!(idle.is_doomed());
        assert!(!busy.is_doomed(), "a request in progress is never cut");
    }

    #[test]
    fn raising_the_file_limit_reaches_the_hard_limit() {
        let soft = raise_nofile_limit().unwrap();
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        assert_eq!(soft, lim.rlim_cur);
        assert_eq!(lim.rlim_cur, lim.rlim_max);
    }
}
