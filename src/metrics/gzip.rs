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
    /// The last call filled the output: the compressor may hold output back.
    held_back: bool,
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
            held_back: false,
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
        self.held_back = false;
        Ok(Some(Segment {
            deflated: Bytes::from(out),
            crc: std::mem::take(&mut self.crc),
        }))
    }

    fn feed(&mut self, flush: FlushCompress) -> Result<(), CompressError> {
        self.crc.update(self.text.as_bytes());
        self.len += self.text.len() as u64;
        // Taken out for the calls below, and put back empty to keep its capacity.
        let mut text = std::mem::take(&mut self.text);
        let mut input = text.as_bytes();
        while !input.is_empty() {
            let before = self.comp.total_in();
            self.run(input, FlushCompress::None)?;
            input = &input[(self.comp.total_in() - before) as usize..];
        }
        text.clear();
        self.text = text;
        if flush == FlushCompress::Sync {
            // The flush is done by a call that starts with no output held back and ends with
            // room to spare. A call that fills the output stops early, holding output back,
            // and the next call only hands that over (miniz_oxide's `compress_inner`), even
            // with room left: taking that as the end lost the tail of one large family in a
            // few hundred, and the segments after it decoded as garbage. Calls after the end
            // would each add an empty block, so the loop stops exactly there.
            loop {
                let clean = !self.held_back;
                self.run(&[], FlushCompress::Sync)?;
                if clean && !self.held_back {
                    break;
                }
            }
        }
        Ok(())
    }

    /// One call of the compressor with room for its output.
    fn run(&mut self, input: &[u8], flush: FlushCompress) -> Result<(), CompressError> {
        if self.out.capacity() - self.out.len() < 32 * 1024 {
            self.out.reserve(self.out.len().clamp(32 * 1024, 4 << 20));
        }
        self.comp
            .compress_vec(input, &mut self.out, flush)
            .map_err(|e| CompressError(e.to_string()))?;
        self.held_back = self.out.len() == self.out.capacity();
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

    /// Large families of hard-to-compress lines (ids, paths), as a 1,000-object CloudSync
    /// target renders: the final flush of some of them fills the output buffer. The writer
    /// used to stop at the next call that left room, losing the family's last lines (trials
    /// 2 and 15 of this generator) and turning the rest of the gzip body into garbage.
    #[test]
    fn a_flush_that_fills_the_output_loses_nothing() {
        let mut seed = 99u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let tenants = ["Globex", "Acme Production", "Acme Research"];
        let hosts = [
            "nfs01.globex.example:/export/cad",
            "sftp://sftp03.acme.example:22/srv/exchange/shared",
            "//fs03.research.acme.example/home",
        ];
        let dests = [
            "s3://globex-inbound/x",
            "azure://acmeresearchsync/backup/y",
            "cvo-dr.globex.example:/logs_dr",
        ];
        let mut pieces = Vec::new();
        let mut want = String::new();
        for trial in 0..16 {
            let mut w = SegmentWriter::new(1);
            let n = 500 + (rnd() % 3000) as usize;
            let mut text = String::new();
            for _ in 0..n {
                text.push_str(&format!(
                    "backup_object_info{{vendor=\"cloudsync\",target=\"cloudsync-demo\",tenant=\"{}\",object_id=\"{:024x}\",object=\"{}-{} -> {}-{}\",object_type=\"relationship\",policy=\"every {}h\"}} 1.0\n",
                    tenants[(rnd() % 3) as usize],
                    (u128::from(rnd()) << 32) | (u128::from(rnd()) & 0xffff_ffff),
                    hosts[(rnd() % 3) as usize],
                    rnd() % 1000,
                    dests[(rnd() % 3) as usize],
                    rnd() % 1000,
                    rnd() % 24
                ));
            }
            for line in ["backup_target_up{a=\"b\"} 1.0\n", text.as_str()] {
                for l in line.split_inclusive('\n') {
                    w.text().push_str(l);
                    w.wrote().unwrap();
                }
                let seg = w.finish().unwrap().unwrap();
                let mut got = Vec::new();
                inflate(&seg, 256 * 1024, |p| {
                    got.extend_from_slice(&p);
                    true
                })
                .unwrap_or_else(|e| panic!("trial {trial}: {e}"));
                assert!(got == line.as_bytes(), "trial {trial}: the text differs");
                pieces.push(Piece::Deflated(std::sync::Arc::new(seg)));
                want.push_str(line);
            }
        }
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gzip(&pieces).concat()[..])
            .read_to_string(&mut text)
            .unwrap();
        assert!(text == want, "the gzip body holds every family intact");
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
