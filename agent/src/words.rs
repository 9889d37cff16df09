//! The clerk's words: what the agent shows in `status` and the to-do file is Chinese only, one
//! plain sentence per problem with what to do, and names items as the folders spell them.

use std::fmt::Write as _;
use std::io;

/// The server's message as the clerk reads it: the Chinese alone (the server adds the English
/// in brackets for the logs), item codes as the folders spell them (`01.04`, not `1.4`).
/// `None` when nothing Chinese is left.
pub fn server_message(message: &str) -> Option<String> {
    let chinese = pad_item_codes(yingjian_shared::chinese::without_english(message).trim());
    yingjian_shared::chinese::has_chinese(&chinese).then_some(chinese)
}

/// `事项 1.4` → `事项 01.04`: codes after 事项 as the folders spell them.
fn pad_item_codes(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(at) = rest.find("事项") {
        let (before, after) = rest.split_at(at + "事项".len());
        out.push_str(before);
        let spaces = after.len() - after.trim_start_matches(' ').len();
        out.push_str(&after[..spaces]);
        let code = &after[spaces..];
        let major: String = code.chars().take_while(char::is_ascii_digit).collect();
        let tail = &code[major.len()..];
        let minor: String = tail
            .strip_prefix('.')
            .map(|t| t.chars().take_while(char::is_ascii_digit).collect())
            .unwrap_or_default();
        if (1..=2).contains(&major.len()) && (1..=2).contains(&minor.len()) {
            let _ = write!(out, "{major:0>2}.{minor:0>2}");
            rest = &tail[1 + minor.len()..];
        } else {
            rest = code;
        }
    }
    out.push_str(rest);
    out
}

/// Whether an I/O error says the disk is full.
pub fn is_disk_full(e: &io::Error) -> bool {
    // ERROR_DISK_FULL and ERROR_HANDLE_DISK_FULL on Windows.
    e.kind() == io::ErrorKind::StorageFull || (cfg!(windows) && matches!(e.raw_os_error(), Some(39 | 112)))
}

/// Whether an I/O error says another program has the file open and locked (Windows:
/// `ERROR_SHARING_VIOLATION`, `ERROR_LOCK_VIOLATION`).
pub fn is_locked(e: &io::Error) -> bool {
    cfg!(windows) && matches!(e.raw_os_error(), Some(32 | 33))
}

/// Why a file or folder could not be used, in the clerk's words.
pub fn io_reason(e: &io::Error) -> &'static str {
    if is_disk_full(e) {
        return "磁盘已满";
    }
    if is_locked(e) {
        return "被其他程序占用";
    }
    match e.kind() {
        io::ErrorKind::PermissionDenied => "没有权限",
        io::ErrorKind::NotFound => "找不到",
        io::ErrorKind::ReadOnlyFilesystem => "所在的磁盘只能读不能写",
        _ => "读写出错",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_speaks_chinese_alone_with_codes_as_folders_spell_them() {
        let refusal = "事项 1.1（质量工作考核）不由商务局负责：请把文件移到本单位的事项文件夹（item 1.1 is not commerce's responsibility）";
        assert_eq!(
            server_message(refusal).unwrap(),
            "事项 01.01（质量工作考核）不由商务局负责：请把文件移到本单位的事项文件夹"
        );
        assert_eq!(
            server_message("事项11.2不由该单位负责(item 11.2 (x) is not ours)").unwrap(),
            "事项11.02不由该单位负责"
        );
        assert_eq!(server_message("no such token"), None);
        // Unbalanced or odd text is kept, not lost.
        assert_eq!(server_message("文件太大（").unwrap(), "文件太大（");
        assert_eq!(server_message("事项 说明").unwrap(), "事项 说明");
    }

    #[test]
    fn io_errors_in_the_clerks_words() {
        assert_eq!(io_reason(&io::Error::from(io::ErrorKind::PermissionDenied)), "没有权限");
        assert_eq!(io_reason(&io::Error::from(io::ErrorKind::StorageFull)), "磁盘已满");
    }
}
