//! The command line: the catalogue printed and validated, tokens created by name or alias.

use std::process::Command;

fn aggregator(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_yingjian-aggregator")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn catalogue_prints_a_table_and_json() {
    let (ok, table, _) = aggregator(&["catalogue"]);
    assert!(ok);
    assert!(table.contains("69 项，共 100 分"), "{table}");
    assert!(table.contains("三、质量安全监管（29.5分）"), "{table}");
    assert!(table.contains("6.4") && table.contains("平顶山海关、商务局"), "{table}");

    let (ok, json, _) = aggregator(&["catalogue", "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let item = &v["areas"][2]["key_points"][2]["items"][2];
    assert_eq!(item["code"], "8.3");
    assert_eq!(item["departments"], serde_json::json!(["police"]));
    assert_eq!(item["points"], 4.0);
    assert_eq!(v["departments"][2]["aliases"][0], "住房和城乡建设局");
}

#[test]
fn catalogue_file_is_validated_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("2021.toml");
    std::fs::write(&good, yingjian_shared::BUILTIN_CATALOGUE_TOML).unwrap();
    assert!(aggregator(&["catalogue", "--file", good.to_str().unwrap()]).0);

    let bad = dir.path().join("bad.toml");
    let text = yingjian_shared::BUILTIN_CATALOGUE_TOML.replacen(
        "departments = [\"police\"]",
        "departments = [\"fire\"]",
        1,
    );
    std::fs::write(&bad, text).unwrap();
    let (ok, _, err) = aggregator(&["catalogue", "--file", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("item 8.3") && err.contains("\"fire\""), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    let (ok, _, err) =
        aggregator(&["catalogue", "--file", dir.path().join("missing.toml").to_str().unwrap()]);
    assert!(!ok && err.contains("cannot read catalogue"), "{err}");
}

#[test]
fn tokens_by_alias_and_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (ok, token, _) = aggregator(&["token", "create", "--dept", "住房和城乡建筑局", "--data", data]);
    assert!(ok);
    assert!(token.trim().starts_with("yj_") && token.lines().count() == 1);
    let (ok, list, _) = aggregator(&["token", "list", "--data", data]);
    assert!(ok && list.contains("housing") && !list.contains(token.trim()), "{list}");
    let (ok, _, err) = aggregator(&["token", "create", "--dept", "财政局", "--data", data]);
    assert!(!ok && err.contains("use one of"), "{err}");
    let (ok, _, err) = aggregator(&["token", "revoke", "99", "--data", data]);
    assert!(!ok && err.contains("token list"), "{err}");
}

#[test]
fn serve_refuses_ocr_models_that_are_not_this_builds() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir(&models).unwrap();
    let ours = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../reader/models");
    for file in ["ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx"] {
        std::fs::copy(ours.join(file), models.join(file)).unwrap();
    }
    // The orientation model replaced by another file of the same name.
    std::fs::write(models.join("ch_ppocr_mobile_v2.0_cls_infer.onnx"), b"not the model").unwrap();
    let config = dir.path().join("aggregator.toml");
    let toml = format!(
        "listen = \"127.0.0.1:0\"\ndata = {:?}\n[reading]\nmodels = {:?}\n",
        dir.path().join("data"),
        models
    );
    std::fs::write(&config, toml).unwrap();
    let (ok, _, err) = aggregator(&["serve", "--config", config.to_str().unwrap()]);
    assert!(!ok, "served with a wrong model");
    assert!(err.contains("[reading] models") && err.contains("ch_ppocr_mobile_v2.0_cls_infer.onnx"), "{err}");
}

#[test]
fn a_print_program_that_is_not_there_is_said_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("aggregator.toml");
    let data = dir.path().join("data");
    let toml = format!("data = {:?}\n[print]\nqpdf = \"/nowhere/qpdf\"\n", data.to_str().unwrap());
    std::fs::write(&config, toml).unwrap();
    let (ok, _, err) =
        aggregator(&["print", "--config", config.to_str().unwrap(), "--out", dir.path().to_str().unwrap()]);
    assert!(!ok && err.contains("[print] qpdf") && err.contains("/nowhere/qpdf"), "{err}");
}
