//! `fletch jobs`: every job with its flags, types and defaults.

use fletch_jobs::framework::{COMMON_PARAMS, OutputFormat, ParamSpec};

pub fn listing() -> String {
    let mut out = String::from("Flags of every job:\n");
    push_params(&mut out, COMMON_PARAMS);
    for job in fletch_jobs::all() {
        out.push_str(&format!("\n{}: {}\n", job.name(), job.about()));
        push_params(&mut out, job.params());
        for o in job.outputs() {
            let format = match o.format {
                OutputFormat::Parquet => "Parquet table",
                OutputFormat::Json => "JSON + dated copy",
                OutputFormat::TfRecord => "TFRecord files",
            };
            out.push_str(&format!("  writes {} ({format}): {}\n", o.path, o.about));
        }
    }
    out
}

fn push_params(out: &mut String, specs: &[ParamSpec]) {
    for p in specs {
        let mut notes = vec![p.ty.name().to_string()];
        if let Some(d) = p.default {
            notes.push(format!("default {d}"));
        }
        if p.required {
            notes.push("required".into());
        }
        if p.repeated {
            notes.push("repeatable".into());
        }
        out.push_str(&format!("  --{:<18} {} [{}]\n", p.name, p.help, notes.join(", ")));
    }
}
