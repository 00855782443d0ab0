//! Pre-compressed pieces of `/metrics` and their assembly into one gzip body (RFC 1952) or
//! back into plain text.
//!
//! Each cached piece is a raw DEFLATE *segment* (RFC 1951): compressed on its own (no
//! reference to data before it), ending with a sync flush so that it stops on a byte boundary
//! with no final block. Segments can therefore be laid end to end, in any selection and
//! order, and form one valid DEFLATE stream once a final empty block is appended. The gzip
//! trailer's CRC-32 is combined from the segments' CRCs, so a gzip scrape never looks at the
//! text again: it is a gzip header, the cached segments, the small per-scrape text as
//! uncompressed *stored* blocks, a final block and the trailer.

use bytes::Bytes;
use flate2::{Compress, Compression, Crc, Decompress, FlushCompress, FlushDecompress, Status};

/// Text is handed to the compressor in pieces of about this size.
const FEED: usize = 64 * 1024;

/// A segment with less text than this is written as stored blocks, not compressed: resetting
/// the compressor for the next segment zeroes some 100 KB of tables, which for the many
/// small families of a refresh cost more than compressing them (callgrind: 28 % of a
/// 25-object refresh's instructions went to ~76 resets). Large families are compressed.
const STORED_BELOW: usize = 2 * 1024;

/// A raw DEFLATE segment of `len` bytes of text with CRC-32 `crc`.
#[derive(Debug)]
pub struct Segment {
    pub deflated: Bytes,
    pub crc: Crc,
}

impl Segment {
    /// Bytes of text it holds.
    pub fn text_len(&self) -> u64 {
        u64::from(self.crc.amount())
    }
}

/// The compressor is misused or out of memory; not expected with valid input.
#[derive(Debug, thiserror::Error)]
#[error("compressing /metrics text failed: {0}")]
pub struct CompressError(String);

/// Compresses text written to [`SegmentWriter::text`] into segments, one per
/// [`SegmentWriter::finish`]; holds at most [`FEED`] bytes of text at a time.
pub struct SegmentWriter {
    text: String,
    comp: Compress,
    out: Vec<u8>,
    crc: Crc,
    len: u64,
}

impl std::fmt::Debug for SegmentWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SegmentWriter")
    }
}

impl SegmentWriter {
    pub fn new(level: u32) -> Self {
        SegmentWriter {
            text: String::with_capacity(FEED + 4096),
            comp: Compress::new(Compression::new(level.min(9)), false),
            out: Vec::new(),
            crc: Crc::new(),
            len: 0,
        }
    }

    /// Where to append text; call [`SegmentWriter::wrote`] after appending.
    pub fn text(&mut self) -> &mut String {
        &mut self.text
    }

    /// Compresses what was appended once enough has gathered.
    pub fn wrote(&mut self) -> Result<(), CompressError> {
        if self.text.len() >= FEED {
            self.feed(FlushCompress::None)?;
        }
        Ok(())
    }

    /// Ends the current segment; `None` if no text was written since the last one.
    pub fn finish(&mut self) -> Result<Option<Segment>, CompressError> {
        if self.len == 0 && self.text.is_empty() {
            return Ok(None);
        }
        if self.len == 0 && self.text.len() < STORED_BELOW {
            // Nothing went through the compressor: no reset is needed either.
            self.crc.update(self.text.as_bytes());
            let mut out = Vec::with_capacity(self.text.len() + 5);
            stored_blocks(self.text.as_bytes(), &mut out);
            self.text.clear();
            return Ok(Some(Segment {
                deflated: Bytes::from(out),
                crc: std::mem::take(&mut self.crc),
            }));
        }
        self.feed(FlushCompress::Sync)?;
        let mut out = std::mem::take(&mut self.out);
        out.shrink_to_fit();
        self.comp.reset();
        self.len = 0;
        Ok(Some(Segment {
            deflated: Bytes::from(out),
            crc: std::mem::take(&mut self.crc),
        }))
    }

    fn feed(&mut self, flush: FlushCompress) -> Result<(), CompressError> {
        self.crc.update(self.text.as_bytes());
        self.len += self.text.len() as u64;
        let mut input = self.text.as_bytes();
        loop {
            if self.out.capacity() - self.out.len() < 4096 {
                self.out.reserve(self.out.len().clamp(16 * 1024, 4 << 20));
            }
            let before = self.comp.total_in();
            self.comp
                .compress_vec(input, &mut self.out, flush)
                .map_err(|e| CompressError(e.to_string()))?;
            let used = (self.comp.total_in() - before) as usize;
            input = &input[used..];
            // Done when all input is taken and the compressor left room in the output,
            // which means it has nothing more to write for this flush.
            if input.is_empty() && self.out.len() < self.out.capacity() {
                break;
            }
        }
        self.text.clear();
        Ok(())
    }
}

/// One piece of a `/metrics` body.
#[derive(Debug, Clone)]
pub enum Piece {
    /// Plain text made for this scrape (headers, the small registry families).
    Text(Bytes),
    /// A cached segment.
    Deflated(std::sync::Arc<Segment>),
}

const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
/// A final, empty stored block: ends the DEFLATE stream.
const FINAL_BLOCK: [u8; 5] = [0x01, 0x00, 0x00, 0xff, 0xff];

/// The gzip body for `pieces`, as a list of buffers to send in order. Cached segments are
/// shared, not copied; text goes in uncompressed stored blocks.
pub fn gzip(pieces: &[Piece]) -> Vec<Bytes> {
    let mut parts = Vec::with_capacity(pieces.len() + 2);
    parts.push(Bytes::from_static(&GZIP_HEADER));
    let mut crc = Crc::new();
    for p in pieces {
        match p {
            Piece::Text(t) => {
                crc.update(t);
                let mut blocks = Vec::with_capacity(t.len() + 5 * (t.len() / 0xffff + 1));
                stored_blocks(t, &mut blocks);
                parts.push(Bytes::from(blocks));
            }
            Piece::Deflated(s) => {
                crc.combine(&s.crc);
                parts.push(s.deflated.clone());
            }
        }
    }
    let mut trailer = Vec::with_capacity(13);
    trailer.extend_from_slice(&FINAL_BLOCK);
    trailer.extend_from_slice(&crc.sum().to_le_bytes());
    trailer.extend_from_slice(&crc.amount().to_le_bytes());
    parts.push(Bytes::from(trailer));
    parts
}

/// `text` as uncompressed, non-final DEFLATE stored blocks: byte-aligned at both ends, so
/// they lie between segments like a segment does.
fn stored_blocks(text: &[u8], out: &mut Vec<u8>) {
    for block in text.chunks(0xffff) {
        let n = block.len() as u16;
        out.push(0x00); // not final, stored; the rest of the byte is padding
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(block);
    }
}

/// Inflates a segment, handing out text in pieces of about `piece` bytes; stops early when
/// `sink` returns `false` (the client went away).
pub fn inflate(
    seg: &Segment,
    piece: usize,
    mut sink: impl FnMut(Vec<u8>) -> bool,
) -> Result<(), CompressError> {
    let mut d = Decompress::new(false);
    let mut input: &[u8] = &seg.deflated;
    let mut left = seg.text_len();
    while left > 0 {
        let mut out = Vec::with_capacity(piece.min(left as usize));
        while out.len() < out.capacity() {
            let before = d.total_in();
            let status = d
                .decompress_vec(input, &mut out, FlushDecompress::Sync)
                .map_err(|e| CompressError(e.to_string()))?;
            input = &input[(d.total_in() - before) as usize..];
            if status == Status::StreamEnd || (input.is_empty() && out.len() < out.capacity()) {
                break;
            }
        }
        if out.is_empty() {
            return Err(CompressError(format!(
                "cached segment ended {left} bytes early"
            )));
        }
        left = left.saturating_sub(out.len() as u64);
        if !sink(out) {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn segment(text: &str, level: u32) -> Segment {
        let mut w = SegmentWriter::new(level);
        for line in text.split_inclusive('\n') {
            w.text().push_str(line);
            w.wrote().unwrap();
        }
        w.finish().unwrap().unwrap()
    }

    #[test]
    fn one_writer_stores_small_segments_and_compresses_large_ones() {
        let big: String = (0..5_000)
            .map(|i| format!("backup_object_protected{{object_id=\"{i}\"}} 1.0\n"))
            .collect();
        let mut w = SegmentWriter::new(1);
        let mut segments = Vec::new();
        for text in ["small\n", big.as_str(), "tiny\n", big.as_str()] {
            w.text().push_str(text);
            w.wrote().unwrap();
            segments.push(std::sync::Arc::new(w.finish().unwrap().unwrap()));
        }
        // Stored: the text plus a 5-byte block header; compressed: far smaller than the text.
        assert_eq!(segments[0].deflated.len(), "small\n".len() + 5);
        assert!(segments[1].deflated.len() < big.len() / 4);
        assert_eq!(segments[2].deflated.len(), "tiny\n".len() + 5);
        let pieces: Vec<Piece> = segments.iter().cloned().map(Piece::Deflated).collect();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gzip(&pieces).concat()[..])
            .read_to_string(&mut text)
            .unwrap();
        assert!(text == format!("small\n{big}tiny\n{big}"));
    }

    #[test]
    fn segments_and_text_make_one_gzip_stream_any_decoder_reads() {
        let big: String = (0..50_000)
            .map(|i| format!("backup_object_protected{{object_id=\"{i}\"}} 1.0\n"))
            .collect();
        let (a, b) = (
            std::sync::Arc::new(segment(&big, 1)),
            std::sync::Arc::new(segment("second\n", 6)),
        );
        let pieces = vec![
            Piece::Text(Bytes::from_static(b"# HELP head\n")),
            Piece::Deflated(a),
            Piece::Text(Bytes::from(vec![b'x'; 70_000])),
            Piece::Deflated(b),
            Piece::Text(Bytes::from_static(b"# EOF\n")),
        ];
        let body: Vec<u8> = gzip(&pieces).concat();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .expect("one valid gzip member with a correct CRC and length");
        let want = format!("# HELP head\n{big}{}second\n# EOF\n", "x".repeat(70_000));
        assert_eq!(text.len(), want.len());
        assert!(text == want);
        assert!(
            body.len() < want.len() / 4,
            "the cached part is compressed: {} bytes",
            body.len()
        );
    }

    #[test]
    fn inflate_gives_back_the_text_in_pieces() {
        let text: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
        let seg = segment(&text, 1);
        assert_eq!(seg.text_len(), text.len() as u64);
        let mut got = Vec::new();
        let mut pieces = 0;
        inflate(&seg, 16 * 1024, |p| {
            assert!(p.len() <= 16 * 1024);
            pieces += 1;
            got.extend_from_slice(&p);
            true
        })
        .unwrap();
        assert!(got == text.as_bytes());
        assert!(pieces > 1);
    }

    #[test]
    fn nothing_written_is_no_segment() {
        let mut w = SegmentWriter::new(1);
        assert!(w.finish().unwrap().is_none());
        w.text().push_str("a\n");
        assert!(w.finish().unwrap().is_some());
        assert!(w.finish().unwrap().is_none(), "the writer starts afresh");
    }
}
