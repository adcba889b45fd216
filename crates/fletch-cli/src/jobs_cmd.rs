//! `fletch jobs`: every job with its flags, types and defaults.

use fletch_jobs::framework::{COMMON_PARAMS, ParamSpec};

pub fn listing() -> String {
    let mut out = String::from("Flags of every job:\n");
    push_params(&mut out, COMMON_PARAMS);
    for job in fletch_jobs::all() {
        let spec = job.spec();
        out.push_str(&format!("\n{}: {}\n", spec.name, spec.summary));
        push_params(&mut out, spec.params);
        for o in spec.outputs {
            out.push_str(&format!("  writes {} ({}): {}\n", o.path, o.format.describe(), o.about));
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
