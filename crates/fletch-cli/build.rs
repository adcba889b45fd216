//! `fletch --version`'s details: the git revision built, and the versions of
//! the engine crates as Cargo.lock pinned them.

use std::process::Command;

fn main() {
    // Read when the script runs: a clone elsewhere sharing the target folder
    // reuses this script's binary, and a path compiled in would be theirs.
    let root = format!("{}/../..", std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let revision = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(&root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(|| "unknown".to_string(), |o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let lock = std::fs::read_to_string(format!("{root}/Cargo.lock")).expect("Cargo.lock");
    let version = |name: &str| {
        let entry = format!("name = \"{name}\"\nversion = \"");
        lock.split_once(&entry).and_then(|(_, rest)| rest.split_once('"')).map_or("unknown", |(v, _)| v).to_string()
    };
    println!("cargo:rustc-env=FLETCH_GIT_REVISION={revision}");
    println!("cargo:rustc-env=FLETCH_ENGINE_VERSIONS=DataFusion {}, Ballista {}, Arrow {}", version("datafusion"), version("ballista"), version("arrow"));
    println!("cargo:rerun-if-changed={root}/Cargo.lock");
    // A path that does not exist would rerun this script on every build.
    for git_file in ["HEAD", "refs/heads", "packed-refs"].map(|f| format!("{root}/.git/{f}")) {
        if std::path::Path::new(&git_file).exists() {
            println!("cargo:rerun-if-changed={git_file}");
        }
    }
}
