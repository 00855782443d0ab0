//! Reading a vendor's response body with a cap per response and a budget per target, so
//! that a hostile or broken vendor (a 1 GiB body, an endless chunked stream) costs at most
//! the configured bytes and fails with a clear error instead of taking the process down.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::ApiError;

/// Error bodies (4xx, 5xx, and the 429/503 we retry) are read this far, then cut: they
/// only feed a one-line message.
pub(super) const ERROR_BODY_BYTES: u64 = 64 << 10;

/// The bytes of response bodies one target's client holds at once.
#[derive(Debug)]
pub(super) struct Budget {
    held: AtomicU64,
    limit: u64,
}

impl Budget {
    pub(super) fn new(limit: u64) -> Arc<Self> {
        Arc::new(Budget {
            held: AtomicU64::new(0),
            limit,
        })
    }

    pub(super) fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    pub(super) fn limit(&self) -> u64 {
        self.limit
    }
}

/// The part of a [`Budget`] one body holds; given back when dropped (with the
/// [`Response`](super::Response) that carries it, or on an error).
#[derive(Debug)]
pub(super) struct Reservation {
    budget: Arc<Budget>,
    bytes: u64,
}

impl Reservation {
    pub(super) fn new(budget: &Arc<Budget>) -> Self {
        Reservation {
            budget: budget.clone(),
            bytes: 0,
        }
    }

    /// Takes `n` more bytes, or nothing and `false` when that would pass the limit.
    fn grow(&mut self, n: u64) -> bool {
        let before = self.budget.held.fetch_add(n, Ordering::AcqRel);
        if before + n > self.budget.limit {
            self.budget.held.fetch_sub(n, Ordering::AcqRel);
            return false;
        }
        self.bytes += n;
        true
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// What to do at the cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AtCap {
    /// Fail with [`ApiError::TooLarge`] (a body we are going to decode).
    Fail,
    /// Keep what was read and stop (an error body, only good for a message).
    Cut,
}

/// Where the bytes come from: a reqwest response, or anything else in tests.
pub(super) trait Chunks {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, ApiError>;
}

/// A buffer that refuses to grow past `limit`, nor past what `reservation` may take.
///
/// It never reallocates: bytes go into blocks that are filled and kept (16 KiB, doubling
/// up to 1 MiB), joined once at the end. A growing `Vec` would copy itself on every
/// doubling and, with glibc, leave the old copies in the allocator's arenas: measured with
/// four endless bodies at once, that kept 330 MiB resident for 128 MiB of bodies.
/// When the vendor announces the length (already checked against `limit`), one block of
/// that size is taken and nothing is joined.
pub(super) struct CappedBuffer {
    blocks: Vec<Vec<u8>>,
    len: u64,
    limit: u64,
    reservation: Option<Reservation>,
}

const FIRST_BLOCK: usize = 16 << 10;
const MAX_BLOCK: usize = 1 << 20;

/// Why a chunk was refused.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refused {
    OverCap,
    OverBudget,
}

impl CappedBuffer {
    /// `expected` is the announced `Content-Length`, already checked against `limit`.
    pub(super) fn new(limit: u64, expected: Option<u64>, reservation: Option<Reservation>) -> Self {
        let blocks = match expected {
            Some(n) => vec![Vec::with_capacity(
                usize::try_from(n.min(limit)).unwrap_or(0),
            )],
            None => Vec::new(),
        };
        CappedBuffer {
            blocks,
            len: 0,
            limit,
            reservation,
        }
    }

    fn append(&mut self, mut chunk: &[u8]) {
        self.len += chunk.len() as u64;
        while !chunk.is_empty() {
            let room = self.blocks.last().map_or(0, |b| b.capacity() - b.len());
            if room == 0 {
                let allocated: u64 = self.blocks.iter().map(|b| b.capacity() as u64).sum();
                let next = self
                    .blocks
                    .last()
                    .map_or(FIRST_BLOCK, |b| {
                        (b.capacity() * 2).clamp(FIRST_BLOCK, MAX_BLOCK)
                    })
                    .min(usize::try_from(self.limit.saturating_sub(allocated)).unwrap_or(0))
                    // Only when an announced length was short of the truth.
                    .max(chunk.len().min(FIRST_BLOCK));
                self.blocks.push(Vec::with_capacity(next));
                continue;
            }
            let take = room.min(chunk.len());
            let block = self.blocks.last_mut().expect("a block with room");
            block.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
        }
    }

    /// Appends `chunk` whole, or nothing.
    pub(super) fn push(&mut self, chunk: &[u8]) -> Result<(), Refused> {
        let n = chunk.len() as u64;
        if self.len + n > self.limit {
            return Err(Refused::OverCap);
        }
        if let Some(r) = &mut self.reservation
            && !r.grow(n)
        {
            return Err(Refused::OverBudget);
        }
        self.append(chunk);
        Ok(())
    }

    /// Appends as much of `chunk` as fits under the cap; `false` once the cap is reached.
    pub(super) fn push_cut(&mut self, chunk: &[u8]) -> bool {
        let room = (self.limit - self.len) as usize;
        let take = chunk.len().min(room);
        self.append(&chunk[..take]);
        take == chunk.len() && self.len < self.limit
    }

    pub(super) fn finish(mut self) -> (Bytes, Option<Reservation>) {
        let body = if self.blocks.len() <= 1 {
            Bytes::from(self.blocks.pop().unwrap_or_default())
        } else {
            let mut all = Vec::with_capacity(self.len as usize);
            for b in self.blocks.drain(..) {
                all.extend_from_slice(&b);
            }
            Bytes::from(all)
        };
        (body, self.reservation)
    }

    /// The bytes allocated for the blocks.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.blocks.iter().map(Vec::capacity).sum()
    }
}

/// Reads a whole body through a [`CappedBuffer`].
pub(super) async fn read_capped(
    endpoint: &str,
    source: &mut impl Chunks,
    limit: u64,
    announced: Option<u64>,
    at_cap: AtCap,
    budget: Option<&Arc<Budget>>,
) -> Result<(Bytes, Option<Reservation>), ApiError> {
    if at_cap == AtCap::Fail
        && let Some(n) = announced
        && n > limit
    {
        return Err(ApiError::TooLarge {
            endpoint: endpoint.to_owned(),
            limit,
            announced: Some(n),
        });
    }
    let mut buf = CappedBuffer::new(limit, announced, budget.map(Reservation::new));
    while let Some(chunk) = source.next_chunk().await? {
        match at_cap {
            AtCap::Cut => {
                if !buf.push_cut(&chunk) {
                    break;
                }
            }
            AtCap::Fail => match buf.push(&chunk) {
                Ok(()) => {}
                Err(Refused::OverCap) => {
                    return Err(ApiError::TooLarge {
                        endpoint: endpoint.to_owned(),
                        limit,
                        announced: None,
                    });
                }
                Err(Refused::OverBudget) => {
                    return Err(ApiError::BufferFull {
                        endpoint: endpoint.to_owned(),
                        limit: budget.map_or(limit, |b| b.limit()),
                    });
                }
            },
        }
    }
    Ok(buf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks from a list, then the end (or, with `endless`, the last one forever).
    struct Fake {
        chunks: Vec<Bytes>,
        endless: bool,
        served: u64,
    }

    impl Chunks for Fake {
        async fn next_chunk(&mut self) -> Result<Option<Bytes>, ApiError> {
            if self.chunks.len() > 1 || (!self.endless && !self.chunks.is_empty()) {
                let c = self.chunks.remove(0);
                self.served += c.len() as u64;
                return Ok(Some(c));
            }
            if self.endless {
                let c = self.chunks[0].clone();
                self.served += c.len() as u64;
                return Ok(Some(c));
            }
            Ok(None)
        }
    }

    fn fake(chunks: &[&'static [u8]], endless: bool) -> Fake {
        Fake {
            chunks: chunks.iter().map(|c| Bytes::from_static(c)).collect(),
            endless,
            served: 0,
        }
    }

    #[tokio::test]
    async fn a_body_under_the_cap_is_read_whole() {
        let mut f = fake(&[b"{\"a\":", b"1}"], false);
        let (body, _) = read_capped("GET /x", &mut f, 7, None, AtCap::Fail, None)
            .await
            .unwrap();
        assert_eq!(body.as_ref(), b"{\"a\":1}");
    }

    #[tokio::test]
    async fn a_content_length_over_the_cap_is_refused_before_reading() {
        let mut f = fake(&[b"x"], true);
        let e = read_capped("GET /x", &mut f, 10, Some(11), AtCap::Fail, None)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                ApiError::TooLarge {
                    limit: 10,
                    announced: Some(11),
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(f.served, 0, "nothing read");
    }

    #[tokio::test]
    async fn an_endless_body_stops_at_the_cap() {
        let mut f = fake(&[b"0123456789abcdef"], true);
        let e = read_capped("GET /x", &mut f, 1000, None, AtCap::Fail, None)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                ApiError::TooLarge {
                    limit: 1000,
                    announced: None,
                    ..
                }
            ),
            "{e}"
        );
        // 62 chunks of 16 fit (992 bytes), the 63rd is refused.
        assert_eq!(f.served, 63 * 16);
    }

    #[tokio::test]
    async fn an_error_body_is_cut_at_the_cap_not_failed() {
        let mut f = fake(&[b"Service down; "], true);
        let (body, _) = read_capped("GET /x", &mut f, 20, Some(1 << 30), AtCap::Cut, None)
            .await
            .unwrap();
        assert_eq!(body.as_ref(), b"Service down; Servic");
    }

    #[test]
    fn a_large_body_is_kept_in_blocks_and_joined_once() {
        let mut b = CappedBuffer::new(10 << 20, None, None);
        let chunk = vec![7u8; 100_000];
        for _ in 0..50 {
            b.push(&chunk).unwrap();
        }
        // 16 KiB, 32 KiB, … 1 MiB, then 1 MiB blocks: never a copy of what was read.
        assert!(b.blocks.len() > 5);
        assert!(b.blocks.iter().all(|x| x.capacity() <= MAX_BLOCK));
        let (body, _) = b.finish();
        assert_eq!(body.len(), 5_000_000);
        assert!(body.iter().all(|&x| x == 7));
    }

    #[test]
    fn the_buffer_never_allocates_past_the_cap() {
        let mut b = CappedBuffer::new(100, None, None);
        for _ in 0..33 {
            b.push(b"abc").unwrap();
        }
        assert_eq!(b.push(b"xy"), Err(Refused::OverCap));
        b.push(b"x").unwrap();
        assert!(b.capacity() <= 100, "capacity {}", b.capacity());
        // A lying Content-Length does not make it reserve more than the cap either.
        let b = CappedBuffer::new(100, Some(1 << 40), None);
        assert!(b.capacity() <= 100);
    }

    #[test]
    fn the_budget_is_shared_and_given_back() {
        let budget = Budget::new(10);
        let mut a = CappedBuffer::new(8, None, Some(Reservation::new(&budget)));
        let mut b = CappedBuffer::new(8, None, Some(Reservation::new(&budget)));
        a.push(b"123456").unwrap();
        b.push(b"1234").unwrap();
        assert_eq!(budget.held(), 10);
        assert_eq!(b.push(b"5"), Err(Refused::OverBudget));
        assert_eq!(budget.held(), 10, "a refused chunk takes nothing");
        let (_body, held) = a.finish();
        drop(held);
        assert_eq!(budget.held(), 4);
        b.push(b"5678").unwrap();
        drop(b);
        assert_eq!(budget.held(), 0);
    }
}
