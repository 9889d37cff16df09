//! Completeness rules on a realistic data set.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{TestServer, jpeg, pdf};

fn dept<'a>(status: &'a Value, id: &str) -> &'a Value {
    status["departments"].as_array().unwrap().iter().find(|d| d["id"] == id).unwrap()
}

fn item<'a>(status: &'a Value, id: &str, code: &str) -> &'a Value {
    dept(status, id)["items"].as_array().unwrap().iter().find(|i| i["code"] == code).unwrap()
}

#[tokio::test]
async fn item_department_and_city_completeness() {
    let s = TestServer::start().await;
    let police = s.token(Some("police"), "pc-1").await;
    let customs = s.token(Some("customs"), "pc-1").await;
    let commerce = s.token(Some("commerce"), "pc-1").await;
    let market = s.token(Some("market"), "pc-1").await;
    let office = s.token(None, "office").await;

    // 8.3 (4 points): two kinds that corroborate each other, the picture captioned by its name.
    assert_eq!(s.file(&police, "08.03 昆仑/文件/通知.pdf", &pdf("8.3 notice")).await, StatusCode::OK);
    assert_eq!(
        s.file(&police, "08.03 昆仑/图片/销毁侵权假冒商品现场.jpg", &jpeg("8.3")).await,
        StatusCode::OK
    );
    // 11.2 (1 point): one kind only, and a camera-named picture without a caption.
    assert_eq!(s.file(&police, "11.02 公安/IMG_0001.jpg", &jpeg("11.2")).await, StatusCode::OK);
    // The report and four typical cases (one in a folder of two files).
    s.file(&police, "自评报告/2021年度自评报告.pdf", &pdf("report")).await;
    for case in [
        "典型案例/案例一.pdf",
        "典型案例/案例二.pdf",
        "典型案例/案例三/判决书.pdf",
        "典型案例/案例三/照片说明.pdf",
    ] {
        s.file(&police, case, &pdf(case)).await;
    }
    // 6.4 (3.5 points) is joint: only customs has filed so far.
    s.file(&customs, "06.04 进出口/文件/监测方案.pdf", &pdf("6.4 plan")).await;
    s.file(&customs, "06.04 进出口/信息/简报.pdf", &pdf("6.4 news")).await;
    // 1.1 (5 points) needs no corroboration (no 重点考核); a PDF that is really a zip is flagged.
    s.file(&market, "01.01 合格率/监测结果.pdf", &pdf("1.1")).await;
    s.file(&market, "01.02 竞争力/评价.pdf", b"PK\x03\x04 not a pdf").await;
    // The same notice filed by two departments.
    s.file(&market, "03.01 格局/文件/通知.pdf", &pdf("8.3 notice")).await;

    let status = s.status(&office).await;
    assert_eq!(item(&status, "police", "8.3")["status"], "complete");
    assert_eq!(item(&status, "police", "8.3")["files"], 2);
    let p112 = item(&status, "police", "11.2");
    assert_eq!(p112["status"], "incomplete");
    let reasons = p112["reasons"].to_string();
    assert!(reasons.contains("缺少文字说明") && reasons.contains("IMG_0001.jpg"), "{reasons}");
    assert!(reasons.contains("相互印证"), "{reasons}");
    assert_eq!(item(&status, "market", "1.1")["status"], "complete");
    assert_eq!(item(&status, "market", "1.2")["status"], "incomplete");
    assert!(item(&status, "market", "1.2")["reasons"].to_string().contains("扩展名不符"));
    assert_eq!(item(&status, "market", "1.9")["status"], "missing");
    assert_eq!(item(&status, "customs", "6.4")["status"], "complete");
    assert_eq!(item(&status, "commerce", "6.4")["status"], "missing");

    let p = dept(&status, "police");
    assert_eq!(p["points_total"], 5.0);
    assert_eq!(p["points_covered"], 5.0);
    // The headline figure counts only what is 齐全: 8.3, not 11.2.
    assert_eq!(p["points_complete"], 4.0);
    assert_eq!(p["report"], true);
    assert_eq!(p["cases"], 3);
    assert_eq!(p["cases_ok"], true);
    assert_eq!(dept(&status, "housing")["cases_ok"], false, "housing needs at least 3 cases");
    assert_eq!(dept(&status, "water")["cases_ok"], true, "water needs none");
    assert_eq!(dept(&status, "customs")["points_covered"], 3.5);
    assert_eq!(dept(&status, "customs")["points_complete"], 3.5);

    // City: 8.3 + 11.2 + 1.1 + 1.2 + 3.1; 6.4 is not covered until commerce files too.
    assert_eq!(status["points_covered"], 4.0 + 1.0 + 5.0 + 4.0 + 2.0);
    // At risk: 11.2, 1.2, 3.1 (one kind) and the half-filed 6.4.
    assert_eq!(status["points_at_risk"], 1.0 + 4.0 + 2.0 + 3.5);
    // 齐全 for the city: 8.3 and 1.1; 6.4 is 齐全 for customs alone.
    assert_eq!(status["points_complete"], 4.0 + 5.0);
    assert_eq!(status["points_total"], 100.0);
    let dups = status["duplicates"].as_array().unwrap();
    assert_eq!(dups.len(), 1);
    let copies: Vec<&str> =
        dups[0]["copies"].as_array().unwrap().iter().map(|c| c["department"].as_str().unwrap()).collect();
    assert_eq!(copies, ["market", "police"]);

    s.file(&commerce, "06.04 进出口/文件/商务局材料.pdf", &pdf("6.4 commerce")).await;
    s.file(&commerce, "06.04 进出口/宣传资料/海报.pdf", &pdf("6.4 poster")).await;
    let status = s.status(&office).await;
    assert_eq!(status["points_covered"], 16.0 + 3.5);
    let area3 = &status["areas"][2];
    assert_eq!(area3["points_total"], 29.5);
    assert_eq!(area3["points_covered"], 4.0 + 3.5);

    // A department sees only itself.
    let own = s.status(&police).await;
    assert_eq!(own["departments"].as_array().unwrap().len(), 1);
    assert_eq!(own["points_total"], 5.0);
    assert!(own["duplicates"].as_array().unwrap().is_empty());
    assert_eq!(json!(own["departments"][0]["id"]), json!("police"));
}
