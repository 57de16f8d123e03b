//! The paper backup of an env: a printable A4 PDF with the env's text, the
//! QR codes of its gzip (the appliance's data2qrpdf format, see [`crate::qr`])
//! and a last page saying how to get env.yml back.
//!
//! Only PDF's standard fonts (Courier, Helvetica) are used, so nothing is
//! embedded; they cover WinAnsi (Latin-1 and a few more). Other characters
//! print as `<U+XXXX>`: the text pages are for people, the QR codes carry
//! every byte.

use pdf_writer::{Content, Filter, Finish as _, Name, Pdf, Rect, Ref, Str};
use qrcode::{Color, EcLevel, QrCode};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::qr::{PIECE_CHARS, qr_payloads};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 36.0;
const TEXT_SIZE: f32 = 7.5;
const LEADING: f32 = 9.0;
/// Courier's advance is 600/1000 em.
const TEXT_COLUMNS: usize = ((PAGE_W - 2.0 * MARGIN) / (TEXT_SIZE * 0.6)) as usize;
const NUMBER_WIDTH: usize = 5;
const HEADER_SPACE: f32 = 24.0;
/// QR's quiet zone, in modules, on every side.
const QUIET: usize = 4;

const COURIER: Name = Name(b"F1");
const HELVETICA: Name = Name(b"F2");
const HELVETICA_BOLD: Name = Name(b"F3");

/// The PDF for `env_text`, titled with the env's domain. It holds every
/// secret of the env in clear text: write it 0600.
pub fn paper_pdf(env_text: &str, domain: &str) -> Result<Vec<u8>> {
    let payloads = qr_payloads(env_text.as_bytes())?;
    let mut codes = Vec::with_capacity(payloads.len());
    for (i, payload) in payloads.iter().enumerate() {
        let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
            .map_err(|e| Error::Paper(format!("QR code {i:02}: {e}")))?;
        codes.push(code);
    }

    let mut pages: Vec<Vec<u8>> = Vec::new();
    let text_lines = wrap(env_text);
    let per_page = ((PAGE_H - 2.0 * MARGIN - HEADER_SPACE) / LEADING) as usize;
    let text_pages = text_lines.chunks(per_page).count().max(1);
    let code_pages = if codes.len() == 1 {
        1
    } else {
        codes.len().div_ceil(4)
    };
    let total = text_pages + code_pages + 1;
    let title = latin1_line(domain);

    for chunk in text_lines.chunks(per_page) {
        let mut c = Content::new();
        header(&mut c, &title, "env.yml", pages.len() + 1, total);
        c.begin_text().set_font(COURIER, TEXT_SIZE);
        c.set_leading(LEADING);
        c.next_line(MARGIN, PAGE_H - MARGIN - HEADER_SPACE);
        for line in chunk {
            c.show(Str(line)).next_line_using_leading();
        }
        c.end_text();
        pages.push(c.finish().into_vec());
    }
    if text_lines.is_empty() {
        let mut c = Content::new();
        header(&mut c, &title, "env.yml (empty)", 1, total);
        pages.push(c.finish().into_vec());
    }

    if codes.len() == 1 {
        let mut c = Content::new();
        header(
            &mut c,
            &title,
            "QR code of env.yml.gz",
            pages.len() + 1,
            total,
        );
        let size = PAGE_W - 2.0 * MARGIN;
        let top = PAGE_H - MARGIN - HEADER_SPACE;
        draw_code(&mut c, &codes[0], MARGIN, top - size, size);
        label(&mut c, MARGIN, top - size - 12.0, "env.yml.gz (one code)");
        pages.push(c.finish().into_vec());
    } else {
        let cell_w = (PAGE_W - 2.0 * MARGIN) / 2.0;
        let cell_h = (PAGE_H - 2.0 * MARGIN - HEADER_SPACE) / 2.0;
        let size = cell_w.min(cell_h - 16.0) - 6.0;
        for (p, group) in codes.chunks(4).enumerate() {
            let mut c = Content::new();
            let what = format!("QR codes of env.yml.gz, sheet {} of {code_pages}", p + 1);
            header(&mut c, &title, &what, pages.len() + 1, total);
            for (k, code) in group.iter().enumerate() {
                let n = p * 4 + k;
                let x = MARGIN + (k % 2) as f32 * cell_w;
                let top = PAGE_H - MARGIN - HEADER_SPACE - (k / 2) as f32 * cell_h;
                draw_code(&mut c, code, x, top - size, size);
                let text = format!(
                    "QR code {n:02} of {} (numbered 00..{:02})",
                    codes.len(),
                    codes.len() - 1
                );
                label(&mut c, x, top - size - 12.0, &text);
            }
            pages.push(c.finish().into_vec());
        }
    }

    let mut c = Content::new();
    header(
        &mut c,
        &title,
        "how to get env.yml back",
        pages.len() + 1,
        total,
    );
    let sha = hex(&Sha256::digest(env_text.as_bytes()));
    c.begin_text().set_font(HELVETICA, 10.0);
    c.set_leading(14.0);
    c.next_line(MARGIN, PAGE_H - MARGIN - HEADER_SPACE - 10.0);
    for (font, line) in restore_text(codes.len(), &sha) {
        c.set_font(font, if font == COURIER { 8.5 } else { 10.0 });
        c.show(Str(&latin1_line(&line))).next_line_using_leading();
    }
    c.end_text();
    pages.push(c.finish().into_vec());

    Ok(assemble(&pages, domain))
}

fn restore_text(codes: usize, sha: &str) -> Vec<(Name<'static>, String)> {
    let h = |s: &str| (HELVETICA, s.to_string());
    let m = |s: &str| (COURIER, s.to_string());
    vec![
        (
            HELVETICA_BOLD,
            "This paper holds every secret of the appliance: keep it locked away.".into(),
        ),
        h(""),
        h(&format!(
            "The {codes} QR code(s) hold env.yml, gzipped and base32-encoded. With ecsfleet:"
        )),
        m("    ecsfleet env unpdf THIS.pdf --out env.yml"),
        h("A scan works too: scan these pages to a PDF at 300 dpi, then add --dpi 300."),
        h(""),
        h("Without ecsfleet (poppler-utils, zbar-tools, coreutils, gzip):"),
        m("    pdftoppm -r 150 -gray -aa no -aaVector no THIS.pdf page"),
        m("    zbarimg --raw -q '-S*.enable=0' -Sqrcode.enable=1 page*.pgm \\"),
        m("      | sort -n | cut -f 2 -d ' ' | tr -d '\\n' | base32 -d | gunzip > env.yml"),
        m("    chmod 600 env.yml; shred -u page*.pgm"),
        h(""),
        h(&format!(
            "Format: the base32 text is split into pieces of {PIECE_CHARS} characters, each QR code"
        )),
        h("starting with its two-digit number and a space (a single code has no number): the"),
        h("appliance's data2qrpdf format, so its qrpdf2data.sh reads these codes too."),
        h(""),
        h("Check the result:"),
        m(&format!("    sha256sum env.yml   # {sha}")),
    ]
}

fn header(c: &mut Content, domain: &[u8], what: &str, page: usize, total: usize) {
    c.begin_text().set_font(HELVETICA_BOLD, 9.0);
    c.next_line(MARGIN, PAGE_H - MARGIN);
    let mut line = domain.to_vec();
    line.extend(latin1_line(&format!(
        " - {what} - page {page} of {total} - SECRET, keep locked away"
    )));
    c.show(Str(&line));
    c.end_text();
}

fn label(c: &mut Content, x: f32, y: f32, text: &str) {
    c.begin_text().set_font(HELVETICA, 8.0);
    c.next_line(x + 4.0, y);
    c.show(Str(&latin1_line(text)));
    c.end_text();
}

/// One filled rectangle per run of dark modules in a row, quiet zone
/// included in `size`.
fn draw_code(c: &mut Content, code: &QrCode, x: f32, y: f32, size: f32) {
    let width = code.width();
    let module = size / (width + 2 * QUIET) as f32;
    c.set_fill_gray(0.0);
    for row in 0..width {
        let mut col = 0;
        while col < width {
            if code[(col, row)] == Color::Dark {
                let start = col;
                while col < width && code[(col, row)] == Color::Dark {
                    col += 1;
                }
                let rx = x + (QUIET + start) as f32 * module;
                let ry = y + size - (QUIET + row + 1) as f32 * module;
                c.rect(rx, ry, (col - start) as f32 * module, module);
            } else {
                col += 1;
            }
        }
    }
    c.fill_nonzero();
}

/// Each env line as WinAnsi bytes, numbered, wrapped to the page width
/// (continuations carry `+` instead of a number).
fn wrap(text: &str) -> Vec<Vec<u8>> {
    let width = TEXT_COLUMNS - NUMBER_WIDTH;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let bytes = latin1_line(line);
        let mut first = true;
        let mut rest: &[u8] = &bytes;
        loop {
            let take = rest.len().min(width);
            let mut row = if first {
                format!("{:>4} ", n + 1).into_bytes()
            } else {
                b"   + ".to_vec()
            };
            row.extend_from_slice(&rest[..take]);
            out.push(row);
            rest = &rest[take..];
            first = false;
            if rest.is_empty() {
                break;
            }
        }
    }
    out
}

/// A line of text in WinAnsiEncoding: tabs expanded, anything the standard
/// fonts cannot show as `<U+XXXX>`.
fn latin1_line(line: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    for ch in line.chars() {
        match ch {
            '\t' => {
                let pad = 8 - out.len() % 8;
                out.extend(std::iter::repeat_n(b' ', pad));
            }
            ' '..='~' => out.push(ch as u8),
            '\u{a0}'..='\u{ff}' => out.push(ch as u32 as u8),
            _ => match winansi_extra(ch) {
                Some(b) => out.push(b),
                None => out.extend(format!("<U+{:04X}>", ch as u32).into_bytes()),
            },
        }
    }
    out
}

/// WinAnsi's 0x80..0x9F (Windows-1252's additions to Latin-1).
fn winansi_extra(ch: char) -> Option<u8> {
    const TABLE: [(char, u8); 27] = [
        ('€', 0x80),
        ('‚', 0x82),
        ('ƒ', 0x83),
        ('„', 0x84),
        ('…', 0x85),
        ('†', 0x86),
        ('‡', 0x87),
        ('ˆ', 0x88),
        ('‰', 0x89),
        ('Š', 0x8A),
        ('‹', 0x8B),
        ('Œ', 0x8C),
        ('Ž', 0x8E),
        ('‘', 0x91),
        ('’', 0x92),
        ('“', 0x93),
        ('”', 0x94),
        ('•', 0x95),
        ('–', 0x96),
        ('—', 0x97),
        ('˜', 0x98),
        ('™', 0x99),
        ('š', 0x9A),
        ('›', 0x9B),
        ('œ', 0x9C),
        ('ž', 0x9E),
        ('Ÿ', 0x9F),
    ];
    TABLE.iter().find(|(c, _)| *c == ch).map(|(_, b)| *b)
}

/// zlib, as FlateDecode wants it.
fn deflate(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    z.write_all(bytes).expect("deflate into memory");
    z.finish().expect("deflate into memory")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The document around the page contents: catalog, page tree, the three
/// standard fonts, each content stream deflated.
fn assemble(pages: &[Vec<u8>], domain: &str) -> Vec<u8> {
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let fonts = [Ref::new(3), Ref::new(4), Ref::new(5)];
    let info = Ref::new(6);
    let first = 7;
    let page_ref = |i: usize| Ref::new(first + 2 * i as i32);
    let content_ref = |i: usize| Ref::new(first + 2 * i as i32 + 1);

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids((0..pages.len()).map(page_ref))
        .count(pages.len() as i32);
    for (font, base) in fonts
        .iter()
        .zip([&b"Courier"[..], b"Helvetica", b"Helvetica-Bold"])
    {
        pdf.type1_font(*font)
            .base_font(Name(base))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.document_info(info)
        .title(pdf_writer::TextStr(&format!("env.yml of {domain}")))
        .producer(pdf_writer::TextStr("ecsfleet"));
    for (i, content) in pages.iter().enumerate() {
        let mut page = pdf.page(page_ref(i));
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .contents(content_ref(i));
        let mut resources = page.resources();
        let mut dict = resources.fonts();
        dict.pair(COURIER, fonts[0]);
        dict.pair(HELVETICA, fonts[1]);
        dict.pair(HELVETICA_BOLD, fonts[2]);
        dict.finish();
        resources.finish();
        page.finish();
        let deflated = deflate(content);
        pdf.stream(content_ref(i), &deflated)
            .filter(Filter::FlateDecode);
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_winansi_with_escapes_for_the_rest() {
        assert_eq!(latin1_line("a\tb"), b"a       b");
        assert_eq!(latin1_line("Grüße €"), b"Gr\xfc\xdfe \x80");
        assert_eq!(latin1_line("日本"), b"<U+65E5><U+672C>");
    }

    #[test]
    fn long_lines_wrap_with_a_marker_and_keep_their_number() {
        let long = "x".repeat(TEXT_COLUMNS * 2);
        let rows = wrap(&format!("first\n{long}\n"));
        assert_eq!(rows[0], b"   1 first");
        assert!(rows[1].starts_with(b"   2 xxx"));
        assert!(rows[2].starts_with(b"   + xxx"));
        assert!(rows.iter().all(|r| r.len() <= TEXT_COLUMNS));
        let joined: usize = rows[1..].iter().map(|r| r.len() - NUMBER_WIDTH).sum();
        assert_eq!(joined, long.len());
    }

    #[test]
    fn a_pdf_is_made_for_small_and_large_envs() {
        let small = paper_pdf(
            "#cloud-config\nappliance: {domain: a.example}\n",
            "a.example",
        )
        .unwrap();
        assert!(small.starts_with(b"%PDF-"));
        let large: String = (0..400)
            .map(|i| format!("key{i}: {:x}\n", i * 7_919_u64.pow(3)))
            .collect();
        let pdf = paper_pdf(&large, "b.example").unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.ends_with(b"%%EOF") || pdf.ends_with(b"%%EOF\n"));
    }
}
