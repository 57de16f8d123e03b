//! The DNS records an appliance needs, as zone-file lines to paste: A, MX,
//! SPF, DMARC and the DKIM key, the hints env-create.sh writes into a new
//! env (env-template.yml:50-59), with absolute names so they paste into any
//! zone that holds the domain.

use std::fmt::Write as _;

use crate::secrets::DkimKey;

/// The address the hints use until the operator puts the host's own in.
pub const EXAMPLE_ADDRESS: &str = "192.0.2.1";

/// Zone-file lines for `domain`: `A` (with [`EXAMPLE_ADDRESS`]), `MX`, SPF
/// `v=spf1 a mx -all`, `_dmarc` `p=quarantine`, and the DKIM key at
/// `default._domainkey` (selector `default`, opendkim's) as character
/// strings of at most 255 bytes inside parentheses. Each line ends in `\n`.
pub fn dns_records(domain: &str, dkim: &DkimKey) -> String {
    let apex = format!("{domain}.");
    let dmarc = format!("_dmarc.{domain}.");
    let selector = format!("default._domainkey.{domain}.");
    let w = selector.len();
    let mut out = String::new();
    let _ = writeln!(out, "{apex:<w$}  IN  A    {EXAMPLE_ADDRESS}");
    let _ = writeln!(out, "{apex:<w$}  IN  MX   10 {apex}");
    let _ = writeln!(out, "{apex:<w$}  IN  TXT  \"v=spf1 a mx -all\"");
    let _ = writeln!(out, "{dmarc:<w$}  IN  TXT  \"v=DMARC1; p=quarantine\"");
    let strings = dkim.txt_strings();
    let indent = " ".repeat(w + "  IN  TXT  ( ".len());
    for (i, s) in strings.iter().enumerate() {
        let lead = if i == 0 {
            format!("{selector:<w$}  IN  TXT  ( ")
        } else {
            indent.clone()
        };
        let tail = if i + 1 == strings.len() { " )" } else { "" };
        let _ = writeln!(out, "{lead}\"{s}\"{tail}");
    }
    out
}

/// The env header's DNS hint: `records` as comment lines (`# ` before each)
/// and the DKIM value as one string for DNS web forms, as env-create.sh's
/// "for gui-dns" line has it (env-template.yml:58).
pub fn header_hint(records: &str, dkim: &DkimKey) -> String {
    let mut out: String = records.lines().map(|l| format!("# {l}\n")).collect();
    let _ = writeln!(
        out,
        "# the DKIM value as one string, for a DNS web form: {}",
        dkim.txt_record()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_aligned_absolute_and_split() {
        let key = DkimKey {
            private_pem: String::new(),
            public_base64: "A".repeat(392),
        };
        let records = dns_records("ecs.example.org", &key);
        let lines: Vec<&str> = records.lines().collect();
        assert_eq!(
            lines[..4],
            [
                "ecs.example.org.                     IN  A    192.0.2.1",
                "ecs.example.org.                     IN  MX   10 ecs.example.org.",
                "ecs.example.org.                     IN  TXT  \"v=spf1 a mx -all\"",
                "_dmarc.ecs.example.org.              IN  TXT  \"v=DMARC1; p=quarantine\"",
            ]
        );
        assert_eq!(
            lines[4],
            "default._domainkey.ecs.example.org.  IN  TXT  ( \"v=DKIM1; k=rsa; s=email; \""
        );
        assert_eq!(
            lines[5],
            format!("{}\"p={}\"", " ".repeat(48), "A".repeat(250))
        );
        assert_eq!(
            lines[6],
            format!("{}\"{}\" )", " ".repeat(48), "A".repeat(142))
        );
        assert_eq!(lines.len(), 7);
        let hint = header_hint(&records, &key);
        assert!(hint.lines().all(|l| l.starts_with("# ")));
        assert!(hint.ends_with(&format!(
            "\n# the DKIM value as one string, for a DNS web form: v=DKIM1; k=rsa; s=email; p={}\n",
            "A".repeat(392)
        )));
    }
}
