//! `ising-denoise`: a tiny hand-checked image through the job, generated
//! images denoised from the noise level to the documented bound, tiles equal
//! to whole images, an images table equal to a folder, Gibbs sampling the
//! same on a cluster as embedded, and bad inputs named.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{Cluster, assert_fails, fletch, ok, sql_json, tree};

fn run(data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "ising-denoise", "-q", "--data-root", data.to_str().unwrap(), "--output-root", out.to_str().unwrap()];
    args.extend(extra);
    fletch(&args)
}

fn metrics(out: &Path) -> Vec<Value> {
    sql_json(&out.join("ising-denoise"), "SELECT * FROM ising_metrics ORDER BY name")
}

fn png(path: &Path) -> image::GrayImage {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_luma8()
}

fn write_image(path: &Path, width: u32, pixels: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_raw(width, pixels.len() as u32 / width, pixels.to_vec()).unwrap().save(path).unwrap();
}

fn generated(dir: &Path, scale: &str) -> PathBuf {
    let data = dir.join("data");
    ok(fletch(&["gen", "noisy-images", "-q", "--output-root", data.to_str().unwrap(), "--scale", scale]));
    data
}

/// White, black, white, thresholded to y = (1, −1, 1), with σ² = 2: local
/// fields ±½ and J = 1, as in the model's unit tests. One ICM sweep flips
/// the white pixels (−1 + ½ < 0), the black one stays (−2 − ½); one
/// mean-field step leaves every sign (μ¹ = 0.25, −0.031, 0.25).
#[test]
fn tiny_image_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_image(&data.join("tiny/row.png"), 3, &[255, 0, 255]);
    write_image(&data.join("clean/row.png"), 3, &[0, 0, 0]);
    let hand = ["--images", "tiny", "--reference", "clean", "--observation", "threshold", "--noise-sigma", "1.4142135623730951", "--iterations", "1", "--tol", "0"];
    let icm = tmp.path().join("icm");
    ok(run(&data, &icm, &[&hand[..], &["--method", "icm"]].concat()));
    assert_eq!(png(&icm.join("ising-denoise/images/row.png")).into_raw(), [0, 0, 0]);
    let m = &metrics(&icm)[0];
    assert_eq!((m["name"].as_str(), m["width"].as_i64(), m["height"].as_i64(), m["tiles"].as_i64()), (Some("row"), Some(3), Some(1), Some(1)));
    assert_eq!((m["method"].as_str(), m["sweeps"].as_i64(), m["converged"].as_bool()), (Some("icm"), Some(1), Some(false)));
    // E = −J Σ x_i x_j − Σ x_i y_i / σ²: (1, −1, 1) has 2 − 3/2, (−1, −1, −1) has −2 + 1/2.
    let close = |v: &Value, want: f64| assert!((v.as_f64().unwrap() - want).abs() < 1e-12, "{v} vs {want}");
    close(&m["energy_noisy"], 0.5);
    close(&m["energy"], -1.5);
    close(&m["noisy_error"], 2.0 / 3.0);
    close(&m["error"], 0.0);

    let mean_field = tmp.path().join("mean-field");
    ok(run(&data, &mean_field, &hand));
    assert_eq!(png(&mean_field.join("ising-denoise/images/row.png")).into_raw(), [255, 0, 255]);
    close(&metrics(&mean_field)[0]["energy"], 0.5);

    // A JPEG (lossy: a white square, not a pattern) is read too.
    write_image(&data.join("jpeg/white.jpg"), 16, &[255; 256]);
    let jpeg = tmp.path().join("jpeg");
    ok(run(&data, &jpeg, &["--images", "jpeg", "--observation", "threshold"]));
    assert_eq!(png(&jpeg.join("ising-denoise/images/white.png")).into_raw(), [255; 256]);
}

/// Murphy's example on generated shapes and letters: ±1 pixels plus
/// N(0, 2²) noise are about 31 % wrong; mean-field and Gibbs sampling bring
/// that under 2 % (docs/jobs/ising-denoise.md), ICM only to about 11 %.
/// Tiles with halos give the same bits as whole images.
#[test]
fn generated_images_denoised_and_tiles_equal_whole_images() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path(), "0.5");
    let whole = tmp.path().join("whole");
    ok(run(&data, &whole, &["--reference", "ising/clean", "--tile-size", "0"]));
    let m = metrics(&whole);
    assert_eq!(m.len(), 4);
    for row in &m {
        let (before, after) = (row["noisy_error"].as_f64().unwrap(), row["error"].as_f64().unwrap());
        assert!((0.29..0.33).contains(&before), "{row}");
        assert!(after < 0.02, "{row}");
        assert!(row["energy"].as_f64() < row["energy_noisy"].as_f64(), "{row}");
        assert_eq!((row["tiles"].as_i64(), row["converged"].as_bool()), (Some(1), Some(true)), "{row}");
        // The output is the image's size.
        let out = png(&whole.join(format!("ising-denoise/images/{}.png", row["name"].as_str().unwrap())));
        assert_eq!((i64::from(out.width()), i64::from(out.height())), (row["width"].as_i64().unwrap(), row["height"].as_i64().unwrap()));
    }
    let tiled = tmp.path().join("tiled");
    ok(run(&data, &tiled, &["--reference", "ising/clean", "--tile-size", "64"]));
    let images = |out: &Path| tree(&out.join("ising-denoise/images"));
    assert_eq!(images(&tiled), images(&whole));
    let without_tiles = |m: Vec<Value>| m.into_iter().map(|mut r| r.as_object_mut().unwrap().remove("tiles").map(|_| r).unwrap()).collect::<Vec<_>>();
    let tiled_metrics = metrics(&tiled);
    assert_eq!(tiled_metrics.iter().map(|r| r["tiles"].as_i64().unwrap()).collect::<Vec<_>>(), [12, 70, 6, 25]);
    assert_eq!(without_tiles(tiled_metrics), without_tiles(m));

    for (method, bound) in [("gibbs", 0.02), ("icm", 0.15)] {
        let out = tmp.path().join(method);
        ok(run(&data, &out, &["--reference", "ising/clean", "--method", method]));
        for row in metrics(&out) {
            assert!(row["error"].as_f64().unwrap() < bound, "{method}: {row}");
        }
    }
}

/// The same images as a Parquet table (bytes in a column) give the same
/// outputs as the folder; Gibbs sampling on two executors, with tiles spread
/// over both, gives the embedded run's bits.
#[test]
fn images_table_and_cluster_equal_embedded() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path(), "0.25");
    let gibbs = ["--method", "gibbs", "--burn-in", "4", "--samples", "8", "--tile-size", "48", "--seed", "7"];
    let embedded = tmp.path().join("embedded");
    ok(run(&data, &embedded, &[&gibbs[..], &["--reference", "ising/clean"]].concat()));

    let hex = |p: PathBuf| std::fs::read(p).unwrap().iter().map(|b| format!("{b:02x}")).collect::<String>();
    let rows: Vec<String> = ["shapes-000", "letters-001"]
        .iter()
        .map(|n| format!("('{n}', decode('{}', 'hex'), decode('{}', 'hex'))", hex(data.join(format!("ising/noisy/{n}.png"))), hex(data.join(format!("ising/clean/{n}.png")))))
        .collect();
    let table = data.join("images_table");
    let copy = format!(
        "COPY (SELECT column1 AS name, column2 AS image, column3 AS reference FROM (VALUES {})) TO '{}/part-0.parquet' STORED AS PARQUET",
        rows.join(", "),
        table.display()
    );
    let script = tmp.path().join("images_table.sql");
    std::fs::write(&script, copy).unwrap();
    ok(fletch(&["sql", "-q", "--allowed-roots", data.to_str().unwrap(), "-f", script.to_str().unwrap()]));
    let from_table = tmp.path().join("table");
    ok(run(&data, &from_table, &[&gibbs[..], &["--images-table", "images_table"]].concat()));
    assert_eq!(tree(&from_table.join("ising-denoise/images")), tree(&embedded.join("ising-denoise/images")));
    assert_eq!(metrics(&from_table), metrics(&embedded));

    let cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let distributed = tmp.path().join("distributed");
    ok(run(&data, &distributed, &[&gibbs[..], &["--reference", "ising/clean", "--scheduler", &cluster.scheduler]].concat()));
    assert_eq!(tree(&distributed.join("ising-denoise/images")), tree(&embedded.join("ising-denoise/images")));
    assert_eq!(metrics(&distributed), metrics(&embedded));
    assert!(cluster.finished_tasks().iter().all(|&n| n > 0), "both executors denoised tiles: {:?}", cluster.finished_tasks());
    // Another seed samples differently.
    let reseeded = tmp.path().join("reseeded");
    ok(run(&data, &reseeded, &[&gibbs[..6], &["--tile-size", "48", "--seed", "8"]].concat()));
    assert_ne!(tree(&reseeded.join("ising-denoise/images")), tree(&embedded.join("ising-denoise/images")));
}

/// One image: every step's input is one small file, so DataFusion plans the
/// metrics' `LEFT JOIN` without repartitions; on a cluster the metrics row
/// must not be lost where Ballista would spread that join over partitions.
#[test]
fn one_image_has_its_metrics_on_a_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path(), "0.1");
    for folder in ["ising/noisy", "ising/clean"] {
        for file in std::fs::read_dir(data.join(folder)).unwrap().map(|f| f.unwrap().path()) {
            if !file.ends_with("shapes-000.png") {
                std::fs::remove_file(file).unwrap();
            }
        }
    }
    let args = ["--method", "gibbs", "--burn-in", "2", "--samples", "2", "--tile-size", "48", "--reference", "ising/clean"];
    let embedded = tmp.path().join("embedded");
    ok(run(&data, &embedded, &args));
    let cluster = Cluster::start(&tmp.path().join("cluster"), 2, &[]);
    let distributed = tmp.path().join("distributed");
    ok(run(&data, &distributed, &[&args[..], &["--scheduler", &cluster.scheduler]].concat()));
    assert_eq!(metrics(&embedded).len(), 1);
    assert_eq!(metrics(&distributed), metrics(&embedded));
}

#[test]
fn bad_inputs_are_named_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path(), "0.25");
    let out = tmp.path().join("out");
    ok(run(&data, &out, &[]));
    let before = tree(&out);
    assert_fails(&run(&data, &out, &["--neighbourhood", "6"]), 2, "--neighbourhood: must be 4 or 8", "neighbourhood");
    assert_fails(&run(&data, &out, &["--damping", "1"]), 2, "--damping: must be in [0, 1)", "damping");
    assert_fails(&run(&data, &out, &["--method", "annealing"]), 2, "--method: expected mean-field or icm or gibbs, got `annealing`", "method");
    assert_fails(&run(&data, &out, &["--images", "nowhere"]), 1, "--images: no PNG or JPEG images under", "missing folder");
    std::fs::write(data.join("ising/noisy/broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    assert_fails(&run(&data, &out, &[]), 1, "ising/noisy/broken.png: not a readable PNG or JPEG", "corrupt image");
    std::fs::remove_file(data.join("ising/noisy/broken.png")).unwrap();
    std::fs::remove_file(data.join("ising/clean/letters-001.png")).unwrap();
    assert_fails(&run(&data, &out, &["--reference", "ising/clean"]), 1, "--reference: no clean image named `letters-001` under ising/clean", "missing reference");
    assert_eq!(tree(&out), before, "failed runs leave the previous outputs");
}
