//! A running command's output as the executor keeps it: the bounded tail
//! of each stream ([`Tail`], for failure reports) and the stream split into
//! lines for progress and NDJSON ([`LineSplitter`]), both with a fixed
//! ceiling on memory whatever a host prints.

use crate::ssh::Stream;

/// The last `cap` bytes of a stream.
pub(crate) struct Tail {
    cap: usize,
    data: Vec<u8>,
}

impl Tail {
    pub(crate) fn new(cap: usize) -> Tail {
        Tail {
            cap,
            data: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.data.extend_from_slice(bytes);
        if self.data.len() > self.cap * 2 {
            let cut = self.data.len() - self.cap;
            self.data.drain(..cut);
        }
    }

    pub(crate) fn text(&self) -> String {
        let start = self.data.len().saturating_sub(self.cap);
        String::from_utf8_lossy(&self.data[start..]).into_owned()
    }
}

/// The longest line shown as output; a longer one is cut there and the
/// rest of it dropped, so a host printing without newlines cannot make us
/// buffer without bound.
pub(crate) const MAX_LINE: usize = 64 << 10;

/// Splits streamed chunks into complete lines, per stream.
#[derive(Default)]
pub(crate) struct LineSplitter {
    pub(crate) stdout: PendingLine,
    pub(crate) stderr: PendingLine,
}

#[derive(Default)]
pub(crate) struct PendingLine {
    pub(crate) bytes: Vec<u8>,
    /// Dropping the rest of a line that was cut at [`MAX_LINE`].
    skipping: bool,
}

impl LineSplitter {
    pub(crate) fn feed(&mut self, stream: Stream, mut data: &[u8]) -> Vec<String> {
        let pending = match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        let mut lines = Vec::new();
        let mut push = |bytes: &[u8], cut: bool| {
            let text = String::from_utf8_lossy(bytes);
            let text = text.trim_end_matches('\r');
            if !text.trim().is_empty() {
                lines.push(if cut {
                    format!("{text} [line cut at {} KiB]", MAX_LINE >> 10)
                } else {
                    text.to_owned()
                });
            }
        };
        while !data.is_empty() {
            let newline = data.iter().position(|&b| b == b'\n');
            if pending.skipping {
                match newline {
                    Some(end) => {
                        pending.skipping = false;
                        data = &data[end + 1..];
                        continue;
                    }
                    None => break,
                }
            }
            match newline {
                Some(end) => {
                    pending.bytes.extend_from_slice(&data[..end]);
                    if pending.bytes.len() > MAX_LINE {
                        push(&pending.bytes[..MAX_LINE], true);
                    } else {
                        push(&pending.bytes, false);
                    }
                    pending.bytes.clear();
                    data = &data[end + 1..];
                }
                None => {
                    pending.bytes.extend_from_slice(data);
                    if pending.bytes.len() > MAX_LINE {
                        push(&pending.bytes[..MAX_LINE], true);
                        pending.bytes.clear();
                        pending.skipping = true;
                    }
                    break;
                }
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_lines_are_split_across_chunks_and_cut_when_endless() {
        let mut lines = LineSplitter::default();
        assert!(lines.feed(Stream::Stdout, b"caf\xc3").is_empty());
        assert_eq!(
            lines.feed(Stream::Stdout, b"\xa9\r\n\xff\n"),
            ["caf\u{e9}", "\u{fffd}"]
        );
        // A line without end: cut once, the rest dropped up to its newline.
        let chunk = vec![b'x'; 40 << 10];
        let mut shown = Vec::new();
        for _ in 0..100 {
            shown.extend(lines.feed(Stream::Stderr, &chunk));
        }
        assert_eq!(shown.len(), 1);
        assert!(shown[0].ends_with(" [line cut at 64 KiB]"));
        assert_eq!(shown[0].len(), MAX_LINE + " [line cut at 64 KiB]".len());
        assert!(lines.stderr.bytes.is_empty());
        assert_eq!(lines.feed(Stream::Stderr, b"xx\nnext\n"), ["next"]);
    }
}
