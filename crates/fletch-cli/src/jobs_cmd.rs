//! `fletch jobs`: every job with its flags, types and defaults.

use fletch_jobs::framework::{COMMON_PARAMS, ParamSpec};
use serde_json::{Value, json};

use crate::run_cmd::env_var;

/// The same as one JSON object: `common_params`, and `jobs` with their
/// `params` and `outputs`.
pub fn json() -> Value {
    let params = |specs: &[ParamSpec], common: bool| -> Vec<Value> {
        specs
            .iter()
            .map(|p| {
                json!({"name": p.name, "type": p.ty.name(), "default": p.default, "required": p.required,
                       "repeated": p.repeated, "help": p.help, "env": common.then(|| env_var(p.name))})
            })
            .collect()
    };
    let jobs: Vec<Value> = fletch_jobs::all()
        .iter()
        .map(|job| {
            let spec = job.spec();
            let outputs: Vec<Value> = spec.outputs.iter().map(|o| json!({"path": o.path, "format": o.format.describe(), "about": o.about})).collect();
            json!({"name": spec.name, "summary": spec.summary, "params": params(spec.params, false), "outputs": outputs})
        })
        .collect();
    json!({"common_params": params(COMMON_PARAMS, true), "jobs": jobs})
}

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
