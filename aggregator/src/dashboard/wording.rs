//! How the audit log reads for people (the 审计日志 page, its CSV, 最近动态): actions and
//! triggers in Chinese, the office or the department by name, China time, sizes in KB/MB, and
//! no hash in the text (it goes to a tooltip, or a column of its own in the CSV).

use yingjian_shared::{AuditRecord, Catalogue, china_time, size_text};

/// One audit entry as people read it.
pub struct AuditLine {
    pub time: String,
    pub who: String,
    pub agent: String,
    pub host: String,
    pub action: &'static str,
    pub detail: String,
    /// The content's SHA-256, when the entry names one.
    pub sha256: Option<String>,
}

pub fn audit_line(catalogue: &Catalogue, e: &AuditRecord) -> AuditLine {
    let (detail, sha256) = readable_detail(&e.detail);
    AuditLine {
        time: china_time(e.at).strftime("%Y-%m-%d %H:%M:%S").to_string(),
        who: e.department.as_deref().map_or_else(
            || "协调办公室".to_string(),
            |d| catalogue.department(d).map_or_else(|| d.to_string(), |x| x.name.clone()),
        ),
        agent: e.agent.clone().unwrap_or_default(),
        host: e.host.clone().unwrap_or_default(),
        action: action_label(&e.action),
        detail,
        sha256,
    }
}

pub fn action_label(action: &str) -> &'static str {
    match action {
        "upload" => "上传文件",
        "record" => "登记材料",
        "record_update" => "更新材料",
        "withdraw" => "撤回材料",
        "contacts" => "报送联系人",
        "token_create" => "发放令牌",
        "token_revoke" => "撤销令牌",
        "upload_existing" => "上传文件（内容已存）",
        "bundle" => "生成材料包",
        "bundle_failed" => "材料包生成失败",
        "nightly" => "每晚自动打包",
        "review" => "审核材料",
        "kind" => "更改类别",
        "choose" => "打包确认",
        "note" => "事项备注",
        "unreadable" => "无法读取文件",
        "upload_removed" => "删除未完成的上传",
        _ => "其他操作",
    }
}

/// Who started a bundle build, as its audit entry writes it (`(nightly)`), in words.
pub fn trigger_label(trigger: &str) -> Option<&'static str> {
    match trigger {
        "(nightly)" => Some("每晚自动"),
        "(dashboard)" => Some("打包页"),
        "(api)" => Some("接口"),
        "(cli)" => Some("命令行"),
        _ => None,
    }
}

/// A detail as written by the server (`路径 sha256=… size=…`, `token #3`, `包名 (nightly)`)
/// in words, and the hash it named.
fn readable_detail(detail: &str) -> (String, Option<String>) {
    let mut sha = None;
    let mut text = String::new();
    for part in detail.split(' ') {
        // A size or a trigger follows the word it belongs to; anything else is a word.
        let (attached, word) = if let Some(hash) = part.strip_prefix("sha256=") {
            sha = Some(hash.to_string());
            continue;
        } else if let Some(size) = part.strip_prefix("size=").and_then(|s| s.parse::<u64>().ok()) {
            (true, format!("（{}）", size_text(size)))
        } else if let Some(complete) = part.strip_prefix("complete=") {
            (false, format!("已齐全 {} 分", complete.replace('/', " / ")))
        } else if let Some(covered) = part.strip_prefix("covered=") {
            // Builds logged before the headline figure was 已齐全.
            (false, format!("已覆盖 {} 分", covered.replace('/', " / ")))
        } else if let Some(id) = part.strip_prefix('#').filter(|id| id.bytes().all(|b| b.is_ascii_digit())) {
            (false, format!("第{id}号"))
        } else {
            match (part, trigger_label(part)) {
                (_, Some(how)) => (true, format!("（{how}）")),
                ("token", None) => (false, "令牌".to_string()),
                (other, None) => (false, other.to_string()),
            }
        };
        if !attached && !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&word);
    }
    // A size alone (an upload) needs no brackets.
    if let Some(alone) =
        text.strip_prefix('（').and_then(|t| t.strip_suffix('）')).filter(|t| !t.contains('（'))
    {
        text = alone.to_string();
    }
    (text, sha)
}

#[cfg(test)]
mod tests {
    use super::readable_detail;

    #[test]
    fn details_read_as_words_with_the_hash_apart() {
        let sha = "ab".repeat(32);
        assert_eq!(
            readable_detail(&format!("08.03 昆仑/通知.pdf sha256={sha} size=2048")),
            ("08.03 昆仑/通知.pdf（2 KB）".to_string(), Some(sha.clone()))
        );
        assert_eq!(readable_detail(&format!("sha256={sha} size=3145728")).0, "3.0 MB");
        assert_eq!(readable_detail("token #3").0, "令牌 第3号");
        assert_eq!(
            readable_detail("yingjian-2021-x.zip (nightly) complete=42.5/100").0,
            "yingjian-2021-x.zip（每晚自动） 已齐全 42.5 / 100 分"
        );
        assert_eq!(readable_detail("张三、李四"), ("张三、李四".to_string(), None));
    }
}
