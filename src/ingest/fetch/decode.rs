//! The body's content coding (gzip, br) undone as it streams in, under the
//! decoded-size cap.

use std::io::Write;

use super::FetchError;

/// A `Write` that keeps what it is given up to a cap, then refuses.
pub(super) struct CappedSink {
    buf: Vec<u8>,
    cap: u64,
    exceeded: bool,
}

impl Write for CappedSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() as u64 + data.len() as u64 > self.cap {
            self.exceeded = true;
            return Err(std::io::Error::other("decoded size cap reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Decodes a body as it streams in, into a [`CappedSink`].
pub(super) enum BodyDecoder {
    Identity(CappedSink),
    Gzip(Box<flate2::write::GzDecoder<CappedSink>>),
    Brotli(Box<brotli::DecompressorWriter<CappedSink>>),
}

impl BodyDecoder {
    pub(super) fn new(encoding: &str, cap: u64) -> Result<BodyDecoder, FetchError> {
        let sink = CappedSink {
            buf: Vec::new(),
            cap,
            exceeded: false,
        };
        Ok(match encoding {
            "" | "identity" => BodyDecoder::Identity(sink),
            "gzip" | "x-gzip" => BodyDecoder::Gzip(Box::new(flate2::write::GzDecoder::new(sink))),
            "br" => BodyDecoder::Brotli(Box::new(brotli::DecompressorWriter::new(sink, 8192))),
            other => {
                return Err(FetchError::Decoding {
                    encoding: other.to_string(),
                    reason: "not an encoding we asked for (gzip, br)".into(),
                });
            }
        })
    }

    fn name(&self) -> &'static str {
        match self {
            BodyDecoder::Identity(_) => "identity",
            BodyDecoder::Gzip(_) => "gzip",
            BodyDecoder::Brotli(_) => "br",
        }
    }

    fn sink(&self) -> &CappedSink {
        match self {
            BodyDecoder::Identity(s) => s,
            BodyDecoder::Gzip(d) => d.get_ref(),
            BodyDecoder::Brotli(d) => d.get_ref(),
        }
    }

    fn error(&self, err: std::io::Error) -> FetchError {
        let sink = self.sink();
        if sink.exceeded {
            FetchError::DecodedTooLarge { limit: sink.cap }
        } else {
            FetchError::Decoding {
                encoding: self.name().into(),
                reason: err.to_string(),
            }
        }
    }

    pub(super) fn write(&mut self, chunk: &[u8]) -> Result<(), FetchError> {
        let result = match self {
            BodyDecoder::Identity(s) => s.write_all(chunk),
            BodyDecoder::Gzip(d) => d.write_all(chunk),
            BodyDecoder::Brotli(d) => d.write_all(chunk),
        };
        result.map_err(|e| self.error(e))
    }

    pub(super) fn finish(self) -> Result<Vec<u8>, FetchError> {
        match self {
            BodyDecoder::Identity(s) => Ok(s.buf),
            BodyDecoder::Gzip(mut d) => match d.try_finish() {
                Ok(()) => d.finish().map(|s| s.buf).map_err(|e| FetchError::Decoding {
                    encoding: "gzip".into(),
                    reason: e.to_string(),
                }),
                Err(e) => Err(BodyDecoder::Gzip(d).error(e)),
            },
            BodyDecoder::Brotli(mut d) => match d.close() {
                Ok(()) => match d.into_inner() {
                    Ok(s) => Ok(s.buf),
                    Err(_) => Err(FetchError::Decoding {
                        encoding: "br".into(),
                        reason: "truncated brotli stream".into(),
                    }),
                },
                Err(e) => Err(BodyDecoder::Brotli(d).error(e)),
            },
        }
    }
}
