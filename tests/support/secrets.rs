//! The secrets of a generated env, for tests that grep output for them.

/// Every secret in an env's text: each body line of its PEM and PGP blocks
/// and the values of the settings secrets. A DKIM PEM line that lies wholly
/// in the RSA modulus also appears in the public DNS TXT hint (a comment):
/// that line is public, not a secret.
pub fn secrets_of(text: &str) -> Vec<String> {
    let public: String = text.lines().filter(|l| l.starts_with('#')).collect();
    let mut secrets = Vec::new();
    let mut in_block = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("-----BEGIN ") {
            in_block = true;
        } else if line.starts_with("-----END ") {
            in_block = false;
        } else if in_block && line.len() >= 16 && !line.contains(": ") && !public.contains(line) {
            secrets.push(line.to_owned());
        }
        for name in ["SECRET_KEY", "REGISTRATION_SECRET", "PASSWORD_RESET_SECRET"] {
            if let Some(rest) = line.strip_prefix(&format!("{name} = ")) {
                secrets.push(rest.trim_matches('\'').to_owned());
            }
        }
    }
    secrets
}
