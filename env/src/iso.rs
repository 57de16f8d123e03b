//! A small ISO 9660 writer for cloud-init seed images: one flat root
//! directory with a few files, and a Joliet tree beside the primary one.
//!
//! cloud-init's NoCloud source mounts the image and reads `user-data` and
//! `meta-data`: lower case with a dash, which plain ISO 9660 names cannot
//! spell (they become `USER_DAT.;1`). Linux shows the Joliet names when
//! there is no Rock Ridge, so Joliet is enough, and it is the simpler
//! extension (a second descriptor and directory, no SUSP records).
//!
//! Layout, 2048-byte sectors: 0-15 system area (zero), 16 primary volume
//! descriptor, 17 Joliet supplementary descriptor, 18 terminator, 19-22 the
//! path tables (L and M, primary then Joliet), 23 the primary root, 24 the
//! Joliet root, then each file's data from a sector boundary, shared by
//! both trees.

use crate::error::{Error, Result};

const SECTOR: usize = 2048;
const PVD: usize = 16;
const PATH_TABLES: usize = 19;
const ROOT: usize = 23;
const JOLIET_ROOT: usize = 24;
const FIRST_DATA: usize = 25;
/// A path table with only the root: 8 bytes plus a one-byte id, padded.
const PATH_TABLE_SIZE: usize = 10;

/// A file in the image's root directory.
pub struct IsoFile<'a> {
    /// The Joliet name (`user-data`): ASCII letters, digits, `.`, `-`, `_`.
    pub name: &'a str,
    pub data: &'a [u8],
}

/// A UTC time stamp for the image's dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsoTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

fn iso(message: impl Into<String>) -> Error {
    Error::Iso(message.into())
}

/// The image: `volume_id` (such as `cidata`) in both descriptors, and
/// `files` in one root directory.
pub fn iso9660(volume_id: &str, files: &[IsoFile<'_>], time: IsoTime) -> Result<Vec<u8>> {
    if volume_id.is_empty()
        || volume_id.len() > 16
        || !volume_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(iso(format!(
            "volume id {volume_id:?}: 1 to 16 ASCII letters, digits or `_`"
        )));
    }
    let mut entries = Vec::with_capacity(files.len());
    for file in files {
        let ok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_');
        if file.name.is_empty() || file.name.len() > 64 || !file.name.bytes().all(ok) {
            return Err(iso(format!(
                "file name {:?}: 1 to 64 ASCII letters, digits, `.`, `-` or `_`",
                file.name
            )));
        }
        if u32::try_from(file.data.len()).is_err() {
            return Err(iso(format!("{}: larger than 4 GiB", file.name)));
        }
        entries.push(Entry {
            primary: primary_name(file.name),
            joliet: file
                .name
                .encode_utf16()
                .flat_map(u16::to_be_bytes)
                .collect(),
            data: file.data,
            sector: 0,
        });
    }
    let mut sector = FIRST_DATA;
    for entry in &mut entries {
        entry.sector = sector;
        sector += entry.data.len().div_ceil(SECTOR).max(1);
    }
    let total = sector;
    for pair in entries
        .iter()
        .enumerate()
        .flat_map(|(i, a)| entries[i + 1..].iter().map(move |b| (a, b)))
    {
        if pair.0.primary == pair.1.primary || pair.0.joliet == pair.1.joliet {
            return Err(iso(format!(
                "two files would both be named {}",
                String::from_utf8_lossy(&pair.0.primary)
            )));
        }
    }

    let date = record_date(time);
    let mut primary: Vec<&Entry> = entries.iter().collect();
    primary.sort_by(|a, b| a.primary.cmp(&b.primary));
    let mut joliet: Vec<&Entry> = entries.iter().collect();
    joliet.sort_by(|a, b| a.joliet.cmp(&b.joliet));
    let root = directory(ROOT, primary.iter().map(|e| (&e.primary[..], *e)), date)?;
    let joliet_root = directory(
        JOLIET_ROOT,
        joliet.iter().map(|e| (&e.joliet[..], *e)),
        date,
    )?;

    let mut image = vec![0u8; total * SECTOR];
    let volume_date = volume_date(time);
    let pvd = descriptor(1, volume_id, total, ROOT, PATH_TABLES, &volume_date);
    put(&mut image, PVD, &pvd);
    let svd = descriptor(
        2,
        volume_id,
        total,
        JOLIET_ROOT,
        PATH_TABLES + 2,
        &volume_date,
    );
    put(&mut image, PVD + 1, &svd);
    put(
        &mut image,
        PVD + 2,
        &[&[255u8][..], b"CD001", &[1]].concat(),
    );
    for (n, root) in [(PATH_TABLES, ROOT), (PATH_TABLES + 2, JOLIET_ROOT)] {
        put(&mut image, n, &path_table(root as u32, false));
        put(&mut image, n + 1, &path_table(root as u32, true));
    }
    put(&mut image, ROOT, &root);
    put(&mut image, JOLIET_ROOT, &joliet_root);
    for entry in &entries {
        put(&mut image, entry.sector, entry.data);
    }
    Ok(image)
}

struct Entry<'a> {
    /// `USER_DAT.;1`: level 1 d-characters, 8.3, version 1.
    primary: Vec<u8>,
    /// UCS-2 big-endian.
    joliet: Vec<u8>,
    data: &'a [u8],
    sector: usize,
}

/// The ISO 9660 level 1 name for `name`, as genisoimage derives it.
fn primary_name(name: &str) -> Vec<u8> {
    let d = |c: char| match c.to_ascii_uppercase() {
        c @ ('A'..='Z' | '0'..='9' | '_') => c,
        _ => '_',
    };
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 => (&name[..dot], &name[dot + 1..]),
        _ => (name, ""),
    };
    let stem: String = stem.chars().map(d).take(8).collect();
    let ext: String = ext.chars().map(d).take(3).collect();
    format!("{stem}.{ext};1").into_bytes()
}

fn put(image: &mut [u8], sector: usize, bytes: &[u8]) {
    image[sector * SECTOR..sector * SECTOR + bytes.len()].copy_from_slice(bytes);
}

fn both16(v: u16) -> [u8; 4] {
    let (l, b) = (v.to_le_bytes(), v.to_be_bytes());
    [l[0], l[1], b[0], b[1]]
}

fn both32(v: u32) -> [u8; 8] {
    let (l, b) = (v.to_le_bytes(), v.to_be_bytes());
    [l[0], l[1], l[2], l[3], b[0], b[1], b[2], b[3]]
}

fn record_date(t: IsoTime) -> [u8; 7] {
    [
        t.year.saturating_sub(1900).min(255) as u8,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        0,
    ]
}

/// `YYYYMMDDHHMMSScc` and a zero time zone offset.
fn volume_date(t: IsoTime) -> [u8; 17] {
    let text = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}00",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    );
    let mut out = [0u8; 17];
    out[..16].copy_from_slice(&text.as_bytes()[..16]);
    out
}

/// One directory record (ECMA-119 9.1).
fn record(name: &[u8], sector: usize, size: usize, directory: bool, date: [u8; 7]) -> Vec<u8> {
    let len = 33 + name.len() + usize::from(name.len().is_multiple_of(2));
    let mut r = Vec::with_capacity(len);
    r.push(len as u8);
    r.push(0);
    r.extend(both32(sector as u32));
    r.extend(both32(size as u32));
    r.extend(date);
    r.push(if directory { 2 } else { 0 });
    r.extend([0, 0]);
    r.extend(both16(1));
    r.push(name.len() as u8);
    r.extend(name);
    r.resize(len, 0);
    r
}

/// A root directory of one sector: `.`, `..` (itself), then the files.
fn directory<'a>(
    sector: usize,
    names: impl Iterator<Item = (&'a [u8], &'a Entry<'a>)>,
    date: [u8; 7],
) -> Result<Vec<u8>> {
    let mut dir = record(&[0], sector, SECTOR, true, date);
    dir.extend(record(&[1], sector, SECTOR, true, date));
    for (name, entry) in names {
        dir.extend(record(name, entry.sector, entry.data.len(), false, date));
    }
    if dir.len() > SECTOR {
        return Err(iso("too many files for a one-sector root directory"));
    }
    Ok(dir)
}

fn path_table(root: u32, big_endian: bool) -> Vec<u8> {
    let mut t = vec![1, 0];
    t.extend(if big_endian {
        root.to_be_bytes()
    } else {
        root.to_le_bytes()
    });
    t.extend(if big_endian {
        1u16.to_be_bytes()
    } else {
        1u16.to_le_bytes()
    });
    t.extend([0, 0]);
    t
}

/// A primary (type 1) or Joliet supplementary (type 2) volume descriptor.
fn descriptor(
    kind: u8,
    volume_id: &str,
    total: usize,
    root: usize,
    path_table: usize,
    date: &[u8; 17],
) -> Vec<u8> {
    let joliet = kind == 2;
    // a-/d-characters padded with spaces; Joliet: UCS-2 big-endian.
    let text = |s: &str, len: usize| -> Vec<u8> {
        let mut out: Vec<u8> = if joliet {
            s.encode_utf16().flat_map(u16::to_be_bytes).collect()
        } else {
            s.as_bytes().to_vec()
        };
        while out.len() < len {
            out.extend(if joliet && out.len() + 1 < len {
                &[0, b' '][..]
            } else {
                &[b' '][..]
            });
        }
        out.truncate(len);
        out
    };
    let mut d = vec![0u8; SECTOR];
    d[0] = kind;
    d[1..6].copy_from_slice(b"CD001");
    d[6] = 1;
    d[8..40].copy_from_slice(&text("LINUX", 32));
    d[40..72].copy_from_slice(&text(volume_id, 32));
    d[80..88].copy_from_slice(&both32(total as u32));
    if joliet {
        // UCS-2 level 3.
        d[88..91].copy_from_slice(b"%/E");
    }
    d[120..124].copy_from_slice(&both16(1));
    d[124..128].copy_from_slice(&both16(1));
    d[128..132].copy_from_slice(&both16(SECTOR as u16));
    d[132..140].copy_from_slice(&both32(PATH_TABLE_SIZE as u32));
    d[140..144].copy_from_slice(&(path_table as u32).to_le_bytes());
    d[148..152].copy_from_slice(&(path_table as u32 + 1).to_be_bytes());
    let root_record = record(&[0], root, SECTOR, true, [0; 7]);
    d[156..190].copy_from_slice(&root_record);
    d[190..318].copy_from_slice(&text("", 128));
    d[318..446].copy_from_slice(&text("", 128));
    d[446..574].copy_from_slice(&text("", 128));
    d[574..702].copy_from_slice(&text("ECSFLEET", 128));
    d[702..813].copy_from_slice(&text("", 111));
    d[813..830].copy_from_slice(date);
    d[830..847].copy_from_slice(date);
    d[847..863].copy_from_slice(b"0000000000000000");
    d[864..880].copy_from_slice(b"0000000000000000");
    d[881] = 1;
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: IsoTime = IsoTime {
        year: 2026,
        month: 11,
        day: 25,
        hour: 8,
        minute: 30,
        second: 0,
    };

    #[test]
    fn primary_names_are_level_1() {
        assert_eq!(primary_name("user-data"), b"USER_DAT.;1");
        assert_eq!(primary_name("meta-data"), b"META_DAT.;1");
        assert_eq!(primary_name("env.yml.pdf"), b"ENV_YML.PDF;1");
    }

    #[test]
    fn the_layout_is_as_documented() {
        let files = [
            IsoFile {
                name: "user-data",
                data: b"#cloud-config\n",
            },
            IsoFile {
                name: "meta-data",
                data: &[b'x'; 3000],
            },
        ];
        let image = iso9660("cidata", &files, T).unwrap();
        assert_eq!(image.len(), (FIRST_DATA + 1 + 2) * SECTOR);
        let pvd = &image[PVD * SECTOR..];
        assert_eq!(&pvd[..7], b"\x01CD001\x01");
        assert_eq!(&pvd[40..46], b"cidata");
        assert_eq!(&pvd[80..84], &28u32.to_le_bytes());
        let svd = &image[(PVD + 1) * SECTOR..];
        assert_eq!(&svd[..6], b"\x02CD001");
        assert_eq!(&svd[40..52], b"\0c\0i\0d\0a\0t\0a");
        assert_eq!(&image[(PVD + 2) * SECTOR..][..6], b"\xffCD001");
        // Files in the order given, each from its own sector.
        assert_eq!(&image[FIRST_DATA * SECTOR..][..14], b"#cloud-config\n");
        assert_eq!(image[(FIRST_DATA + 1) * SECTOR], b'x');
        // The primary root lists META before USER.
        let root = &image[ROOT * SECTOR..(ROOT + 1) * SECTOR];
        let meta = root.windows(11).position(|w| w == b"META_DAT.;1").unwrap();
        let user = root.windows(11).position(|w| w == b"USER_DAT.;1").unwrap();
        assert!(meta < user);
    }

    #[test]
    fn bad_names_are_refused() {
        let e = iso9660(
            "cidata",
            &[IsoFile {
                name: "a/b",
                data: b"",
            }],
            T,
        )
        .unwrap_err();
        assert!(e.to_string().contains("\"a/b\""), "{e}");
        let e = iso9660("ci data", &[], T).unwrap_err();
        assert!(e.to_string().contains("volume id"), "{e}");
        let same = [
            IsoFile {
                name: "user-data",
                data: b"",
            },
            IsoFile {
                name: "user_data",
                data: b"",
            },
        ];
        assert!(iso9660("cidata", &same, T).is_err());
    }
}
