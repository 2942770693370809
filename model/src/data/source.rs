//! Opening data files (plain, gzip or zstd, detected by magic bytes) and reading them line by line.

use crate::error::{ModelError, Result};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// How a data file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Compression {
    /// Plain text.
    None,
    /// gzip (`.gz`), possibly multi-member.
    Gzip,
    /// Zstandard (`.zst`).
    Zstd,
}

impl Compression {
    /// The file-name suffix recpim appends when it writes this compression ("" for none).
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

fn io_error(path: &Path, source: std::io::Error) -> ModelError {
    ModelError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Detects the compression of `path` from its first bytes (the magic numbers), so a
/// misnamed file still reads; an empty or very short file is plain text.
pub fn detect_compression(path: &Path) -> Result<Compression> {
    let mut file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut head = [0u8; 4];
    let mut filled = 0;
    while filled < head.len() {
        let n = file
            .read(&mut head[filled..])
            .map_err(|e| io_error(path, e))?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    if filled >= 2 && head[..2] == GZIP_MAGIC {
        Ok(Compression::Gzip)
    } else if filled >= 4 && head == ZSTD_MAGIC {
        Ok(Compression::Zstd)
    } else {
        Ok(Compression::None)
    }
}

/// Opens `path` for buffered reading, decompressing gzip/zstd transparently.
pub fn open_data_file(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    let compression = detect_compression(path)?;
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    const BUFFER_BYTES: usize = 1 << 18;
    Ok(match compression {
        Compression::None => Box::new(BufReader::with_capacity(BUFFER_BYTES, file)),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            BUFFER_BYTES,
            flate2::read::MultiGzDecoder::new(BufReader::new(file)),
        )),
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::new(file).map_err(|e| io_error(path, e))?;
            Box::new(BufReader::with_capacity(BUFFER_BYTES, decoder))
        }
    })
}

/// Reads a data file line by line as bytes (so invalid UTF-8 is a malformed row, not an I/O
/// error), with 1-based line numbers. The trailing `\n` and `\r` are removed.
pub struct LineSource {
    reader: Box<dyn BufRead + Send>,
    path: PathBuf,
    line_number: u64,
    buffer: Vec<u8>,
}

impl LineSource {
    /// Opens `path` (plain, gzip or zstd).
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Self {
            reader: open_data_file(path)?,
            path: path.to_path_buf(),
            line_number: 0,
            buffer: Vec::with_capacity(1024),
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves to the next line; returns its 1-based number, or `None` at the end of the file.
    /// The line itself is then `current()`.
    pub fn advance(&mut self) -> Result<Option<u64>> {
        self.buffer.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.buffer)
            .map_err(|e| io_error(&self.path, e))?;
        if n == 0 {
            return Ok(None);
        }
        self.line_number += 1;
        if self.buffer.last() == Some(&b'\n') {
            self.buffer.pop();
        }
        if self.buffer.last() == Some(&b'\r') {
            self.buffer.pop();
        }
        Ok(Some(self.line_number))
    }

    /// The line `advance` moved to, without its line ending.
    pub fn current(&self) -> &[u8] {
        &self.buffer
    }
}

/// A buffered output file that compresses like its input did; call `finish` to flush.
pub enum DataWriter {
    /// Plain text.
    Plain(BufWriter<File>, PathBuf),
    /// gzip.
    Gzip(flate2::write::GzEncoder<BufWriter<File>>, PathBuf),
    /// Zstandard.
    Zstd(
        zstd::stream::write::Encoder<'static, BufWriter<File>>,
        PathBuf,
    ),
}

impl DataWriter {
    /// Creates (truncates) `path`, compressing with `compression`.
    pub fn create(path: &Path, compression: Compression) -> Result<Self> {
        let file = File::create(path).map_err(|e| io_error(path, e))?;
        let buffered = BufWriter::with_capacity(1 << 18, file);
        let owned = path.to_path_buf();
        Ok(match compression {
            Compression::None => DataWriter::Plain(buffered, owned),
            Compression::Gzip => DataWriter::Gzip(
                flate2::write::GzEncoder::new(buffered, flate2::Compression::default()),
                owned,
            ),
            Compression::Zstd => {
                let encoder = zstd::stream::write::Encoder::new(buffered, 3)
                    .map_err(|e| io_error(path, e))?;
                DataWriter::Zstd(encoder, owned)
            }
        })
    }

    fn path(&self) -> &Path {
        match self {
            DataWriter::Plain(_, p) | DataWriter::Gzip(_, p) | DataWriter::Zstd(_, p) => p,
        }
    }

    /// Writes `line` and a `\n`.
    pub fn write_line(&mut self, line: &[u8]) -> Result<()> {
        let result = match self {
            DataWriter::Plain(w, _) => w.write_all(line).and_then(|()| w.write_all(b"\n")),
            DataWriter::Gzip(w, _) => w.write_all(line).and_then(|()| w.write_all(b"\n")),
            DataWriter::Zstd(w, _) => w.write_all(line).and_then(|()| w.write_all(b"\n")),
        };
        result.map_err(|e| io_error(self.path(), e))
    }

    /// Finishes the compressed stream and flushes everything to disk.
    pub fn finish(self) -> Result<()> {
        match self {
            DataWriter::Plain(mut w, p) => w.flush().map_err(|e| io_error(&p, e)),
            DataWriter::Gzip(w, p) => {
                let mut inner = w.finish().map_err(|e| io_error(&p, e))?;
                inner.flush().map_err(|e| io_error(&p, e))
            }
            DataWriter::Zstd(w, p) => {
                let mut inner = w.finish().map_err(|e| io_error(&p, e))?;
                inner.flush().map_err(|e| io_error(&p, e))
            }
        }
    }
}
