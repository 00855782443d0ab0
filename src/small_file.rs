//! Reading the small files an operator points us at (the config, secret files, CA bundles)
//! with a size cap, so that a path to `/dev/zero`, a FIFO or a huge file fails at once with a
//! clear error instead of hanging or eating memory.
//!
//! The file is opened without blocking (a FIFO with no writer would otherwise block the
//! open forever), then must be a regular file (checked on the open handle, so a swap between
//! a check and the open cannot slip a device in), and at most `limit` bytes are read.

use std::io::Read;
use std::path::Path;

/// Secret files (`<key>_file`) and Google service-account keys: a password, a token or a
/// JSON key is a few KiB at most.
pub const SECRET_FILE_LIMIT: u64 = 64 << 10;
/// The config file: room for tens of thousands of targets.
pub const CONFIG_FILE_LIMIT: u64 = 4 << 20;
/// A CA bundle (`tls.ca_file`): the whole Mozilla bundle is about 0.2 MiB.
pub const CA_FILE_LIMIT: u64 = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SmallFileError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not a regular file (a {0}); give the path of a file")]
    NotAFile(&'static str),
    #[error("over the {} limit; reading stopped there", human(*.0))]
    TooLarge(u64),
    #[error("not UTF-8 text")]
    NotUtf8,
}

/// Reads at most `limit` bytes of the regular file at `path` (symbolic links followed).
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, SmallFileError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(SmallFileError::NotAFile(kind(&meta)));
    }
    let mut bytes = Vec::with_capacity(meta.len().min(limit) as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(SmallFileError::TooLarge(limit));
    }
    Ok(bytes)
}

/// As [`read`], as UTF-8 text.
pub fn read_to_string(path: &Path, limit: u64) -> Result<String, SmallFileError> {
    String::from_utf8(read(path, limit)?).map_err(|_| SmallFileError::NotUtf8)
}

fn kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "device";
        }
        if t.is_socket() {
            return "socket";
        }
    }
    if meta.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

/// `64 KiB`, `4 MiB`: the limits above as people write them.
pub fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_at_the_limit_is_read_and_one_byte_more_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'x'; 100]).unwrap();
        assert_eq!(read(&path, 100).unwrap().len(), 100);
        let e = read(&path, 99).unwrap_err();
        assert_eq!(
            e.to_string(),
            "over the 99 bytes limit; reading stopped there"
        );
    }

    #[cfg(unix)]
    #[test]
    fn devices_directories_and_fifos_are_refused_without_reading() {
        let e = read(Path::new("/dev/zero"), SECRET_FILE_LIMIT).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not a regular file (a device); give the path of a file"
        );
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read(dir.path(), 10),
            Err(SmallFileError::NotAFile("directory"))
        ));
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // No writer: a blocking open would never return.
        assert!(matches!(
            read(&fifo, 10),
            Err(SmallFileError::NotAFile("FIFO"))
        ));
    }

    #[test]
    fn limits_read_as_people_write_them() {
        assert_eq!(human(SECRET_FILE_LIMIT), "64 KiB");
        assert_eq!(human(CONFIG_FILE_LIMIT), "4 MiB");
        assert_eq!(human(1000), "1000 bytes");
    }
}
