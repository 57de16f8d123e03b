//! `ecsfleet size`: the manual's sizing model for a number of studies per
//! month, every quantity with its formula, the working and the manual's own
//! figure — and a note wherever the manual's row departs from its formula.
//! The model itself (pure numbers, no output) is in `size/model.rs`.

pub mod model;

use clap::Args;
use comfy_table::{Cell, ContentArrangement};

use crate::args::GlobalArgs;
use crate::error::{Outcome, Result};

use model::{Quantity, Sizing, num};

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  \
    ecsfleet size --studies 100\n  \
    ecsfleet size --studies 60 --years 5 --json")]
pub struct SizeArgs {
    /// Studies per month the appliance must carry
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub studies: u32,
    /// Years of documents and database to keep
    #[arg(long, value_name = "Y", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub years: u32,
}

pub fn run(args: SizeArgs, global: &GlobalArgs) -> Result<Outcome> {
    let sizing = Sizing::new(args.studies, args.years);
    let quantities = sizing.quantities();
    if global.json {
        println!("{}", json(&sizing, &quantities));
        return Ok(Outcome::Success);
    }
    println!(
        "Sizing for {} studies/month over {} years ({} months); 1 GB = 1024 MB = 1024² KB",
        sizing.studies_per_month, sizing.years, sizing.months
    );
    let mut table = crate::report::table(["quantity", "value", "formula", "manual (10 y)", "note"]);
    // Wrap to the terminal's width; in a pipe, keep whole lines for grep.
    table.set_content_arrangement(ContentArrangement::Dynamic);
    for q in &quantities {
        table.add_row(vec![
            Cell::new(q.name),
            Cell::new(value_text(q)),
            Cell::new(format!("{}\n{}", q.formula, q.working)),
            Cell::new(manual_text(q)),
            Cell::new(&q.note),
        ]);
    }
    println!("{table}");
    if sizing.years != model::MANUAL_YEARS {
        println!("The manual's table is for 10 years; no figures to compare.");
    }
    if quantities.iter().any(|q| q.manual_differs) {
        println!("Rows marked DIFFERS: the manual's own figure does not follow its formula.");
    }
    if !sizing.within_rating {
        println!(
            "Beyond the manual's rating ({} studies/month for {} years): measure before relying on these figures.",
            model::RATED_STUDIES,
            model::MANUAL_YEARS
        );
    }
    Ok(Outcome::Success)
}

fn value_text(q: &Quantity) -> String {
    match q.unit {
        "cores" => num(q.value),
        "GB" if q.name == "memory" => format!("{}+ GB", num(q.value)),
        unit => format!("{} {unit}", num(q.value)),
    }
}

fn manual_text(q: &Quantity) -> String {
    match (&q.manual_text, q.manual_differs) {
        (Some(text), true) => format!("{text}\nDIFFERS"),
        (Some(text), false) => text.clone(),
        (None, _) => "-".to_owned(),
    }
}

/// One JSON object: the figures at the top, then every quantity in full.
fn json(sizing: &Sizing, quantities: &[Quantity]) -> serde_json::Value {
    let mut object = serde_json::to_value(sizing).expect("sizing serializes");
    object["units"] = "1 GB = 1024 MB = 1024² KB".into();
    object["quantities"] = serde_json::to_value(quantities).expect("quantities serialize");
    object
}
