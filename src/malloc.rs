//! How the C allocator hands memory back, for a process that runs for months.
//!
//! glibc's malloc serves a large block (above 128 KiB: a vendor's job list, a collection's
//! vectors, a render's buffers) with its own mmap only until the first such block is freed;
//! from then on it raises that threshold to the largest block freed (up to 32 MiB) and serves
//! large blocks from its heaps, where freeing them seldom gives the memory back. A refresh
//! allocates and frees megabytes per target, so the resident set grows towards the sum of
//! those transients: at 5 targets of 10,000 objects some 15 MiB of the peak (issue 12,
//! docs/performance.md). Keeping the threshold fixed at glibc's own default keeps large
//! blocks mapped on their own, returned when freed, for a pair of system calls per block
//! (a few hundred per refresh).

/// Fixes glibc's mmap threshold at 128 KiB (see the module doc), unless the operator set
/// `MALLOC_MMAP_THRESHOLD_` themselves. Process-wide; a no-op on other C libraries.
pub fn return_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; it is given a valid size.
        if unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024) } != 1 {
            tracing::debug!("cannot fix malloc's mmap threshold");
        }
    }
}
