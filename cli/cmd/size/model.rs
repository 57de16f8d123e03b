//! The ECS manual's sizing model (APPLIANCE.md, "Sizing") as plain numbers:
//! cores, memory, database, documents, disk and backup for a number of
//! studies per month over a number of years, each with its formula, the
//! working with every rounding shown, and the manual's own table figure.
//!
//! Units are 1024-based: 1 GB = 1024 MB = 1024² KB.
//!
//! How the manual's figures come out, and where they cannot:
//!
//! - Documents: the manual writes "120 × studies × 17 MB". Read as
//!   17,000 KB per study (the measured 17,178 KB rounded) and rounded up to
//!   a whole GB, 100 studies give 194.55 → 195 GB, which is the figure behind
//!   both its 100-row disk (50 + 8 + 195 = 253) and its 100-row backup
//!   (2 × 195 + 50 + 195 ÷ 120 × 2 = 443.25 → 444), the row the manual says it
//!   derived. The measured 17,178 KB would give 197 GB and neither figure.
//! - Disk: no single documents-per-study figure reproduces all four rows.
//!   Its 40 row (131) needs at most 1.95 GB per study (50 + 3.2 + 78 = 131.2),
//!   its 20 row (92) needs more than 1.95 (50 + 1.6 + 40 = 91.6) and its
//!   250 row (570) needs 2.0 (50 + 20 + 500). So the 20 and 250 rows take
//!   120 × 17 MB ≈ 2 GB per study, the 40 and 100 rows ≈ 1.95 GB; we follow
//!   the 100 row and mark the other two as differing, with the arithmetic.
//! - Backup: only the 100 row follows the formula. The 20 and 40 rows are the
//!   100 row scaled (444 × 0.2 = 88.8 → 89, 444 × 0.4 = 177.6 → 178) and the
//!   250 row is 3 × 444 = 1332.
//!
//! Rounding, as the manual's own rows show it: documents and backup up to a
//! whole GB, disk to the nearest GB (its 40 row: 131.2 → 131), memory up to
//! half a GB (its 40 row: 9.2 → 9.5+), the database not at all.

use serde::Serialize;

/// Base system and temporary space, GB.
pub const BASE_GB: f64 = 50.0;
/// Studies per month that need 1 GB of database over 10 years.
pub const STUDIES_PER_DATABASE_GB: f64 = 12.5;
/// The manual's "17 MB" of documents per study, in KB.
pub const DOCUMENT_KB_PER_STUDY: f64 = 17_000.0;
/// The measured average documents per study, in KB.
pub const MEASURED_KB_PER_STUDY: f64 = 17_178.0;
/// Memory for the system, GB.
pub const MEMORY_BASE_GB: f64 = 2.0;
/// Memory per core, GB.
pub const MEMORY_PER_CORE_GB: f64 = 1.0;
/// The manual's rating: studies per month, for 10 years.
pub const RATED_STUDIES: u32 = 250;
/// The years the manual's table is for.
pub const MANUAL_YEARS: u32 = 10;

const KB_PER_GB: f64 = 1024.0 * 1024.0;

/// The manual's cores table: studies per month → cores.
const CORES: [(u32, u32); 4] = [(20, 2), (40, 4), (100, 6), (250, 8)];

/// One row of the manual's table (10 years).
#[derive(Debug, Clone, Copy)]
struct ManualRow {
    studies: u32,
    cores: u32,
    /// "at least", written `6+` in the manual.
    memory_gb: f64,
    disk_gb: f64,
    backup_gb: f64,
}

const MANUAL: [ManualRow; 4] = [
    ManualRow {
        studies: 20,
        cores: 2,
        memory_gb: 6.0,
        disk_gb: 92.0,
        backup_gb: 89.0,
    },
    ManualRow {
        studies: 40,
        cores: 4,
        memory_gb: 9.5,
        disk_gb: 131.0,
        backup_gb: 178.0,
    },
    ManualRow {
        studies: 100,
        cores: 6,
        memory_gb: 16.0,
        disk_gb: 253.0,
        backup_gb: 444.0,
    },
    ManualRow {
        studies: 250,
        cores: 8,
        memory_gb: 30.0,
        disk_gb: 570.0,
        backup_gb: 1332.0,
    },
];

/// Why the manual's own row differs from its formula, where we know.
const DIFFERS: [(&str, u32, &str); 5] = [
    (
        "disk",
        20,
        "the manual's 92 GB takes 2 GB of documents per study (120 × 17 MB ≈ 2 GB): \
         50 + 1.6 + 40 = 91.6 → 92, while its 40 and 100 rows take 1.95 GB; \
         no single figure gives all four rows",
    ),
    (
        "disk",
        250,
        "the manual's 570 GB takes 2 GB of documents per study (120 × 17 MB ≈ 2 GB): \
         50 + 20 + 500 = 570, while its 40 and 100 rows take 1.95 GB; \
         no single figure gives all four rows",
    ),
    (
        "backup",
        20,
        "the manual's 89 GB does not follow its formula: it is the 100 row scaled, \
         444 × 20 ÷ 100 = 88.8 → 89",
    ),
    (
        "backup",
        40,
        "the manual's 178 GB does not follow its formula: it is the 100 row scaled, \
         444 × 40 ÷ 100 = 177.6 → 178",
    ),
    (
        "backup",
        250,
        "the manual's 1332 GB does not follow its formula: it is the 100 row tripled, \
         3 × 444 = 1332 (scaled by 2.5 it would be 1110)",
    ),
];

/// The sizing for `studies` per month over `years`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sizing {
    pub studies_per_month: u32,
    pub years: u32,
    pub months: u32,
    pub cores: u32,
    /// At least this much, GB.
    pub memory_gb: f64,
    pub database_gb: f64,
    pub documents_gb: f64,
    pub disk_gb: f64,
    pub backup_gb: f64,
    /// Within the manual's rating (250 studies per month for 10 years).
    pub within_rating: bool,
}

/// One quantity of the model, as shown to the operator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quantity {
    /// `cores`, `memory`, `database`, `documents`, `disk`, `backup`.
    pub name: &'static str,
    pub value: f64,
    /// `cores` or `GB`.
    pub unit: &'static str,
    /// The formula in words.
    pub formula: &'static str,
    /// The formula with this run's numbers and its rounding.
    pub working: String,
    /// The manual's table figure, for its four rows at 10 years.
    pub manual: Option<f64>,
    /// How the manual prints it (`16+ GB`, `4-8`).
    pub manual_text: Option<String>,
    /// The manual's row differs from the formula's result.
    pub manual_differs: bool,
    pub note: String,
}

impl Sizing {
    /// The model for `studies` per month over `years` (both at least 1).
    pub fn new(studies: u32, years: u32) -> Sizing {
        let months = 12 * years;
        let n = f64::from(studies);
        let cores = cores_for(studies);
        let database_gb = database(n, years);
        let documents_gb = round_up(documents_exact(n, months, DOCUMENT_KB_PER_STUDY));
        let memory_gb = round_up_half(memory_exact(cores, database_gb));
        let disk_gb = round_nearest(BASE_GB + database_gb + documents_gb);
        let backup_gb = round_up(backup_exact(documents_gb, months));
        Sizing {
            studies_per_month: studies,
            years,
            months,
            cores,
            memory_gb,
            database_gb,
            documents_gb,
            disk_gb,
            backup_gb,
            within_rating: studies <= RATED_STUDIES && years <= MANUAL_YEARS,
        }
    }

    /// Every quantity with its formula, working, the manual's figure and notes.
    pub fn quantities(&self) -> Vec<Quantity> {
        let n = self.studies_per_month;
        let years = self.years;
        let months = self.months;
        let db = self.database_gb;
        let docs = self.documents_gb;
        let manual = self.manual_row();

        let cores_working = match CORES.iter().find(|(s, _)| n <= *s) {
            Some((s, c)) if *s == n => format!("{n} studies: table row {s} → {c}"),
            Some((s, c)) => format!("{n} studies: next table row up, {s} → {c}"),
            None => format!("{n} > {RATED_STUDIES}: largest table row, 250 → 8"),
        };
        let mut cores_note = String::from(
            "manual: 20 → 2, 40 → 2-4, 100-250 → 4-8 (tables: 2, 4, 6, 8); \
             between rows the next row up",
        );
        if n > RATED_STUDIES {
            cores_note.push_str(
                "; beyond the manual's largest row and the ECS's rating of 250 studies/month",
            );
        }

        let memory_exact = memory_exact(self.cores, db);
        let documents_exact = documents_exact(f64::from(n), months, DOCUMENT_KB_PER_STUDY);
        let measured = documents_exact_kb(f64::from(n), months, MEASURED_KB_PER_STUDY);
        let disk_exact = BASE_GB + db + docs;
        let backup_exact = backup_exact(docs, months);

        let mut quantities = vec![
            Quantity {
                name: "cores",
                value: f64::from(self.cores),
                unit: "cores",
                formula: "the manual's table by studies/month",
                working: cores_working,
                manual: manual.map(|r| f64::from(r.cores)),
                manual_text: manual.map(|r| match r.studies {
                    40 => "4 (2-4)".to_owned(),
                    100 | 250 => format!("{} (4-8)", r.cores),
                    _ => r.cores.to_string(),
                }),
                manual_differs: false,
                note: cores_note,
            },
            Quantity {
                name: "memory",
                value: self.memory_gb,
                unit: "GB",
                formula: "2 GB + 1 GB × cores + database, up to ½ GB (a minimum)",
                working: format!(
                    "2 + {} + {} = {}",
                    self.cores,
                    num(db),
                    rounded(memory_exact, self.memory_gb)
                ),
                manual: manual.map(|r| r.memory_gb),
                manual_text: manual.map(|r| format!("{}+ GB", num(r.memory_gb))),
                manual_differs: false,
                note: "the manual's `+`: at least this much".to_owned(),
            },
            Quantity {
                name: "database",
                value: db,
                unit: "GB",
                formula: "studies ÷ 12.5 GB per 10 years, × years ÷ 10",
                working: format!("{n} ÷ 12.5 × {years} ÷ 10 = {} GB", num(db)),
                manual: None,
                manual_text: None,
                manual_differs: false,
                note: "measured: 4,074,220 KB after 59 months at ~100 studies/month \
                       (7.9 GB over 120 months)"
                    .to_owned(),
            },
            Quantity {
                name: "documents",
                value: docs,
                unit: "GB",
                formula: "12 × years × studies × 17 MB (17,000 KB) ÷ 1024², up to whole GB",
                working: format!(
                    "{months} × {n} × 17,000 KB = {} KB = {}",
                    thousands(f64::from(months) * f64::from(n) * DOCUMENT_KB_PER_STUDY),
                    rounded(documents_exact, docs)
                ),
                manual: None,
                manual_text: None,
                manual_differs: false,
                note: format!(
                    "17 MB is the measured 17,178 KB per study rounded; read as 17,000 KB it \
                     gives the manual's 100 row (195 GB); with 17,178 KB: {} GB",
                    num(measured / KB_PER_GB)
                ),
            },
            Quantity {
                name: "disk",
                value: self.disk_gb,
                unit: "GB",
                formula: "50 GB base and temp + database + documents, to nearest GB",
                working: format!(
                    "50 + {} + {} = {}",
                    num(db),
                    num(docs),
                    rounded(disk_exact, self.disk_gb)
                ),
                manual: manual.map(|r| r.disk_gb),
                manual_text: manual.map(|r| format!("{} GB", num(r.disk_gb))),
                manual_differs: false,
                note: String::new(),
            },
            Quantity {
                name: "backup",
                value: self.backup_gb,
                unit: "GB",
                formula: "2 × documents + base + documents ÷ months × 2, up to whole GB",
                working: format!(
                    "2 × {} + 50 + {} ÷ {months} × 2 = {}",
                    num(docs),
                    num(docs),
                    rounded(backup_exact, self.backup_gb)
                ),
                manual: manual.map(|r| r.backup_gb),
                manual_text: manual.map(|r| format!("{} GB", num(r.backup_gb))),
                manual_differs: false,
                note: String::new(),
            },
        ];
        for quantity in &mut quantities {
            let Some(figure) = quantity.manual else {
                continue;
            };
            if (figure - quantity.value).abs() < 1e-9 {
                continue;
            }
            quantity.manual_differs = true;
            let why = DIFFERS
                .iter()
                .find(|(name, studies, _)| *name == quantity.name && *studies == n)
                .map_or(
                    "the manual's row differs from its own formula",
                    |(_, _, why)| why,
                );
            if quantity.note.is_empty() {
                quantity.note = why.to_owned();
            } else {
                quantity.note = format!("{why}; {}", quantity.note);
            }
        }
        quantities
    }

    /// The manual's row for these studies, when the manual has one (10 years).
    fn manual_row(&self) -> Option<ManualRow> {
        if self.years != MANUAL_YEARS {
            return None;
        }
        MANUAL
            .iter()
            .find(|r| r.studies == self.studies_per_month)
            .copied()
    }
}

/// The manual's cores table, stepping up to the next row between rows.
fn cores_for(studies: u32) -> u32 {
    CORES
        .iter()
        .find(|(s, _)| studies <= *s)
        .map_or(CORES[CORES.len() - 1].1, |(_, c)| *c)
}

fn database(studies: f64, years: u32) -> f64 {
    studies / STUDIES_PER_DATABASE_GB * f64::from(years) / f64::from(MANUAL_YEARS)
}

fn documents_exact_kb(studies: f64, months: u32, kb_per_study: f64) -> f64 {
    f64::from(months) * studies * kb_per_study
}

fn documents_exact(studies: f64, months: u32, kb_per_study: f64) -> f64 {
    documents_exact_kb(studies, months, kb_per_study) / KB_PER_GB
}

fn memory_exact(cores: u32, database_gb: f64) -> f64 {
    MEMORY_BASE_GB + MEMORY_PER_CORE_GB * f64::from(cores) + database_gb
}

fn backup_exact(documents_gb: f64, months: u32) -> f64 {
    2.0 * documents_gb + BASE_GB + documents_gb / f64::from(months) * 2.0
}

/// Up to a whole number; a hair above a whole number (float noise) stays.
fn round_up(x: f64) -> f64 {
    (x - 1e-9).ceil()
}

fn round_up_half(x: f64) -> f64 {
    round_up(x * 2.0) / 2.0
}

fn round_nearest(x: f64) -> f64 {
    (x + 1e-9).round()
}

/// A number as the working shows it: whole numbers bare, else two decimals
/// without trailing zeros.
pub fn num(x: f64) -> String {
    let text = format!("{:.2}", x);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `443.25 → 444 GB`, or `253 GB` when rounding changed nothing visible.
fn rounded(exact: f64, value: f64) -> String {
    let exact = num(exact);
    let value = num(value);
    if exact == value {
        format!("{value} GB")
    } else {
        format!("{exact} → {value} GB")
    }
}

/// A whole number with thousands separators: 204,000,000.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quantity(sizing: &Sizing, name: &str) -> Quantity {
        sizing
            .quantities()
            .into_iter()
            .find(|q| q.name == name)
            .unwrap()
    }

    /// Asserts the quantity equals the manual's figure and is not flagged.
    fn agrees(sizing: &Sizing, name: &str, figure: f64) {
        let q = quantity(sizing, name);
        assert_eq!(q.value, figure, "{name}: {}", q.working);
        assert_eq!(q.manual, Some(figure), "{name}");
        assert!(!q.manual_differs, "{name}: {}", q.note);
    }

    /// Asserts the manual's figure is shown, flagged, and explained.
    fn differs(sizing: &Sizing, name: &str, value: f64, figure: f64, why: &str) {
        let q = quantity(sizing, name);
        assert_eq!(q.value, value, "{name}: {}", q.working);
        assert_eq!(q.manual, Some(figure), "{name}");
        assert!(q.manual_differs, "{name}");
        assert!(q.note.contains(why), "{name}: {}", q.note);
    }

    #[test]
    fn hundred_studies_reproduce_the_manuals_row() {
        let s = Sizing::new(100, 10);
        assert_eq!(s.months, 120);
        assert_eq!(s.database_gb, 8.0);
        assert_eq!(s.documents_gb, 195.0);
        agrees(&s, "cores", 6.0);
        agrees(&s, "memory", 16.0);
        agrees(&s, "disk", 253.0);
        agrees(&s, "backup", 444.0);
        assert_eq!(
            quantity(&s, "backup").working,
            "2 × 195 + 50 + 195 ÷ 120 × 2 = 443.25 → 444 GB"
        );
        assert_eq!(
            quantity(&s, "documents").working,
            "120 × 100 × 17,000 KB = 204,000,000 KB = 194.55 → 195 GB"
        );
    }

    #[test]
    fn twenty_studies() {
        let s = Sizing::new(20, 10);
        agrees(&s, "cores", 2.0);
        agrees(&s, "memory", 6.0);
        assert_eq!(quantity(&s, "memory").working, "2 + 2 + 1.6 = 5.6 → 6 GB");
        differs(&s, "disk", 91.0, 92.0, "50 + 1.6 + 40 = 91.6 → 92");
        differs(&s, "backup", 129.0, 89.0, "444 × 20 ÷ 100 = 88.8 → 89");
    }

    #[test]
    fn forty_studies() {
        let s = Sizing::new(40, 10);
        agrees(&s, "cores", 4.0);
        agrees(&s, "memory", 9.5);
        agrees(&s, "disk", 131.0);
        assert_eq!(
            quantity(&s, "disk").working,
            "50 + 3.2 + 78 = 131.2 → 131 GB"
        );
        differs(&s, "backup", 208.0, 178.0, "444 × 40 ÷ 100 = 177.6 → 178");
    }

    #[test]
    fn two_hundred_fifty_studies() {
        let s = Sizing::new(250, 10);
        assert!(s.within_rating);
        agrees(&s, "cores", 8.0);
        agrees(&s, "memory", 30.0);
        differs(&s, "disk", 557.0, 570.0, "50 + 20 + 500 = 570");
        differs(&s, "backup", 1033.0, 1332.0, "3 × 444 = 1332");
    }

    #[test]
    fn cores_step_up_to_the_next_row() {
        let cores: Vec<u32> = [1, 20, 21, 40, 41, 100, 101, 250, 251, 1000]
            .into_iter()
            .map(cores_for)
            .collect();
        assert_eq!(cores, [2, 2, 4, 4, 6, 6, 8, 8, 8, 8]);
        let s = Sizing::new(70, 10);
        assert_eq!(
            quantity(&s, "cores").working,
            "70 studies: next table row up, 100 → 6"
        );
        assert_eq!(quantity(&s, "cores").manual, None);
    }

    #[test]
    fn years_scale_database_and_documents() {
        let s = Sizing::new(100, 5);
        assert_eq!(s.months, 60);
        assert_eq!(s.database_gb, 4.0);
        // 60 × 100 × 17,000 KB = 97.27 GB → 98.
        assert_eq!(s.documents_gb, 98.0);
        assert_eq!(s.memory_gb, 12.0);
        assert_eq!(s.disk_gb, 152.0);
        // 2 × 98 + 50 + 98 ÷ 60 × 2 = 249.27 → 250.
        assert_eq!(s.backup_gb, 250.0);
        // The manual's table is for 10 years only.
        assert!(s.quantities().iter().all(|q| q.manual.is_none()));
    }

    #[test]
    fn beyond_the_rating_says_so() {
        let s = Sizing::new(400, 10);
        assert!(!s.within_rating);
        assert!(quantity(&s, "cores").note.contains("beyond"));
        assert!(!Sizing::new(100, 15).within_rating);
    }

    #[test]
    fn numbers_print_plainly() {
        assert_eq!(num(8.0), "8");
        assert_eq!(num(1.6), "1.6");
        assert_eq!(num(194.5499), "194.55");
        assert_eq!(thousands(204_000_000.0), "204,000,000");
        assert_eq!(thousands(999.0), "999");
    }
}
