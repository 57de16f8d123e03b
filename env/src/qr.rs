//! The QR payloads of a paper backup, in the appliance's own format
//! (data2qrpdf.sh / qrpdf2data.sh), and the way back.
//!
//! env.yml is gzipped, then base32-encoded (RFC 4648, upper case, `=`
//! padding) so that it fits QR's alphanumeric mode and survives any scanner
//! that treats QR bytes as text. Up to [`SINGLE_MAX`] gzip bytes go into one
//! code without a prefix; more are split into pieces of [`PIECE_CHARS`]
//! base32 characters, each prefixed with its two-digit number and a space
//! (`00 `, `01 ` ...). The host's `qrpdf2data.sh` (zbarimg, `sort -n`,
//! `cut -f 2 -d " "`, base32 decode) therefore reads our codes, and we read
//! its codes.

use std::io::{Read as _, Write as _};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use crate::error::{Error, Result};

/// The largest gzip that data2qrpdf puts into a single code (version 40,
/// error correction M).
pub const SINGLE_MAX: usize = 2110;
/// Base32 characters per numbered piece (version 29, error correction M).
pub const PIECE_CHARS: usize = 1826;
/// Two-digit piece numbers: at most 100 codes.
pub const MAX_PIECES: usize = 100;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn paper(message: impl Into<String>) -> Error {
    Error::Paper(message.into())
}

/// `gzip -9` of `bytes`, with no file name and a zero time stamp, so the
/// same env always gives the same codes.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    // Writing into a Vec cannot fail.
    gz.write_all(bytes).expect("gzip into memory");
    gz.finish().expect("gzip into memory")
}

/// RFC 4648 base32 with padding, as Python's `base64.b32encode`.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for group in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..group.len()].copy_from_slice(group);
        let bits = buf.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let chars = match group.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                let index = (bits >> (35 - 5 * i)) & 31;
                out.push(char::from(ALPHABET[index as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The inverse of [`base32_encode`]; strict about the alphabet and padding.
pub fn base32_decode(text: &str) -> Result<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(8) {
        return Err(paper(format!(
            "base32 text of {} characters is not a whole number of 8-character groups",
            bytes.len()
        )));
    }
    let mut out = Vec::with_capacity(bytes.len() / 8 * 5);
    let groups = bytes.len() / 8;
    for (g, group) in bytes.chunks(8).enumerate() {
        let data = group.iter().take_while(|&&c| c != b'=').count();
        if group[data..].iter().any(|&c| c != b'=') || (data < 8 && g + 1 != groups) {
            return Err(paper(format!(
                "base32 padding in the middle, near character {}",
                g * 8
            )));
        }
        let keep = match data {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => return Err(paper(format!("base32 group {g} has a bad length"))),
        };
        let mut bits = 0u64;
        for (i, &c) in group.iter().enumerate() {
            let value = if i < data {
                ALPHABET.iter().position(|&a| a == c).ok_or_else(|| {
                    paper(format!("not a base32 character at position {}", g * 8 + i))
                })?
            } else {
                0
            };
            bits = (bits << 5) | value as u64;
        }
        let five = bits.to_be_bytes();
        out.extend_from_slice(&five[3..3 + keep]);
    }
    Ok(out)
}

/// The text of each QR code for `env_bytes`, in order.
pub fn qr_payloads(env_bytes: &[u8]) -> Result<Vec<String>> {
    let gz = gzip(env_bytes);
    let text = base32_encode(&gz);
    if gz.len() <= SINGLE_MAX {
        return Ok(vec![text]);
    }
    let pieces = text.len().div_ceil(PIECE_CHARS);
    if pieces > MAX_PIECES {
        return Err(paper(format!(
            "the env gzips to {} bytes, more than {MAX_PIECES} QR codes can hold",
            gz.len()
        )));
    }
    // Base32 is ASCII, so byte offsets are character offsets.
    Ok((0..pieces)
        .map(|i| {
            let end = ((i + 1) * PIECE_CHARS).min(text.len());
            format!("{i:02} {}", &text[i * PIECE_CHARS..end])
        })
        .collect())
}

/// The env's bytes from the texts of its QR codes (`zbarimg --raw` lines,
/// in any order, duplicates allowed). The gzip's CRC and length prove that
/// nothing is missing or changed.
pub fn env_from_qr_lines(lines: &str) -> Result<Vec<u8>> {
    let mut single: Option<&str> = None;
    let mut pieces: std::collections::BTreeMap<usize, &str> = Default::default();
    for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let b = line.as_bytes();
        if b.len() > 3 && b[0].is_ascii_digit() && b[1].is_ascii_digit() && b[2] == b' ' {
            let index = usize::from(b[0] - b'0') * 10 + usize::from(b[1] - b'0');
            match pieces.insert(index, &line[3..]) {
                Some(other) if other != &line[3..] => {
                    return Err(paper(format!(
                        "two different QR codes are numbered {index:02}: codes of \
                         different backups are mixed"
                    )));
                }
                _ => {}
            }
        } else if single.is_some_and(|s| s != line) {
            return Err(paper(
                "more than one unnumbered QR code: codes of different backups are mixed",
            ));
        } else {
            single = Some(line);
        }
    }
    let text = match (single, pieces.is_empty()) {
        (None, true) => return Err(paper("no QR code found")),
        (Some(_), false) => {
            return Err(paper(
                "both numbered and unnumbered QR codes found: codes of different \
                 backups are mixed",
            ));
        }
        (Some(s), true) => s.to_string(),
        (None, false) => {
            let found: Vec<usize> = pieces.keys().copied().collect();
            if let Some(missing) = (0..found.len()).find(|i| !pieces.contains_key(i)) {
                return Err(paper(format!(
                    "QR code {missing:02} is missing or unreadable (read {})",
                    numbers(&found)
                )));
            }
            pieces.values().copied().collect::<String>()
        }
    };
    let gz = base32_decode(&text)?;
    let mut env = Vec::new();
    GzDecoder::new(gz.as_slice())
        .read_to_end(&mut env)
        .map_err(|e| {
            paper(format!(
                "the QR data does not unpack ({e}): a QR code at the end is \
                 missing, or a code was misread"
            ))
        })?;
    Ok(env)
}

fn numbers(found: &[usize]) -> String {
    let list: Vec<String> = found.iter().map(|i| format!("{i:02}")).collect();
    list.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ] {
            assert_eq!(base32_encode(plain.as_bytes()), coded);
            assert_eq!(base32_decode(coded).unwrap(), plain.as_bytes());
        }
        assert!(base32_decode("MZXW6YT").is_err());
        assert!(base32_decode("MZ=W6YTB").is_err());
        assert!(base32_decode("mzxw6ytb").is_err());
        assert!(base32_decode("MY======MZXW6YTB").is_err());
    }

    proptest! {
        #[test]
        fn base32_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(base32_decode(&base32_encode(&bytes)).unwrap(), bytes);
        }
    }

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        // Incompressible, so the gzip needs several codes.
        let mut x = 0x2545_f491_4f6c_dd1du64 ^ seed;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn a_small_env_is_one_unnumbered_code() {
        let payloads =
            qr_payloads("#cloud-config\nappliance: {domain: é.example}\n".as_bytes()).unwrap();
        assert_eq!(payloads.len(), 1);
        assert!(!payloads[0].contains(' '));
        let back = env_from_qr_lines(&format!("{}\n", payloads[0])).unwrap();
        assert_eq!(
            back,
            "#cloud-config\nappliance: {domain: é.example}\n".as_bytes()
        );
    }

    #[test]
    fn a_large_env_is_numbered_pieces_read_in_any_order() {
        let env = noise(5000, 0);
        let payloads = qr_payloads(&env).unwrap();
        assert_eq!(payloads.len(), 5, "5000+ gzip bytes = 8000+ base32 chars");
        for (i, p) in payloads.iter().enumerate() {
            assert!(p.starts_with(&format!("{i:02} ")));
            assert!(p.len() <= PIECE_CHARS + 3);
        }
        let mut shuffled = payloads.clone();
        shuffled.reverse();
        shuffled.push(payloads[1].clone());
        assert_eq!(env_from_qr_lines(&shuffled.join("\n")).unwrap(), env);
    }

    #[test]
    fn a_missing_or_mixed_code_is_named() {
        let payloads = qr_payloads(&noise(5000, 0)).unwrap();
        let without = |skip: usize| {
            let kept: Vec<&str> = payloads
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, p)| p.as_str())
                .collect();
            env_from_qr_lines(&kept.join("\n")).unwrap_err().to_string()
        };
        assert_eq!(
            without(2),
            "paper backup: QR code 02 is missing or unreadable (read 00, 01, 03, 04)"
        );
        assert!(
            without(4).contains("a QR code at the end is missing"),
            "{}",
            without(4)
        );
        let other = qr_payloads(&noise(5000, 1)).unwrap();
        let mixed = format!("{}\n{}", payloads.join("\n"), other[1]);
        assert!(
            env_from_qr_lines(&mixed)
                .unwrap_err()
                .to_string()
                .contains("mixed")
        );
        assert_eq!(
            env_from_qr_lines("\n").unwrap_err().to_string(),
            "paper backup: no QR code found"
        );
    }

    #[test]
    fn too_large_an_env_is_refused() {
        let e = qr_payloads(&noise(120_000, 0)).unwrap_err().to_string();
        assert!(e.contains("more than 100 QR codes"), "{e}");
    }
}
