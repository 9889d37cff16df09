//! `init`: lays out a department's evidence folder so the clerk only has to drop files in.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use yingjian_shared::{
    CASES_FOLDER, Catalogue, Department, GUIDE_FILE, REPORT_FOLDER, TODO_FILE, chinese_date_time,
    item_folder_name,
};

use crate::error::{AgentError, AgentResult};
use crate::newfile;
use crate::scan::MARKER_FILE;

/// The department `name` (id, name or alias) names, or a refusal in Chinese listing them all.
pub fn department_named<'a>(catalogue: &'a Catalogue, name: &str) -> AgentResult<&'a Department> {
    catalogue.department(name).ok_or_else(|| {
        let known: Vec<&str> = catalogue.departments.iter().map(|d| d.name.as_str()).collect();
        AgentError::Config(format!("没有名为“{name}”的单位，可选：{}", known.join("、")))
    })
}

/// Creates the item folders of `department`, 自评报告/, 典型案例/, the guide and the marker.
/// Idempotent: an item folder whose code already exists (under any title) is left alone.
/// Returns the folders it created.
pub fn init_folder(
    catalogue: &Catalogue,
    department: &Department,
    folder: &Path,
) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(folder)?;
    let existing: Vec<String> =
        fs::read_dir(folder)?.flatten().filter_map(|e| e.file_name().to_str().map(str::to_string)).collect();
    let mut wanted: Vec<String> = catalogue
        .items_for(&department.id)
        .filter(|i| i.is_scored())
        .filter(|i| {
            !existing.iter().any(|e| e.starts_with(&format!("{} ", i.code.padded())) || *e == i.code.padded())
        })
        .map(|i| item_folder_name(i.code, &i.short_title))
        .collect();
    wanted.extend(
        [REPORT_FOLDER, CASES_FOLDER].iter().map(|s| (*s).to_string()).filter(|s| !existing.contains(s)),
    );
    let mut created = Vec::new();
    for name in wanted {
        let path = folder.join(name);
        fs::create_dir_all(&path)?;
        created.push(path);
    }
    let guide = folder.join(GUIDE_FILE);
    // Written once (the clerk may have added to it), and never through a link.
    if fs::symlink_metadata(&guide).is_err() {
        newfile::replace(&guide, guide_text(catalogue, department).as_bytes(), false)?;
    }
    let marker = folder.join(MARKER_FILE);
    let content = format!("{}\n", department.id);
    // Rewritten only when it says something else: a marker in place is left alone.
    if newfile::read_no_link(&marker).ok().as_deref() != Some(content.as_bytes()) {
        newfile::replace(&marker, content.as_bytes(), true)?;
    }
    Ok(created)
}

fn guide_text(catalogue: &Catalogue, department: &Department) -> String {
    format!(
        "\u{feff}{name}迎检材料使用说明\r\n\
         \r\n\
         1. 把扫描好的印证材料放进对应事项的文件夹（文件夹名以事项编号开头，如“08.03”），放好即自动上传，无需其他操作。\r\n\
         2. 请在每个事项文件夹里按类别再建子文件夹“文件、文稿、图片、信息、宣传资料”，把材料按类放进去。直接放在事项文件夹里的文件算“未分类”（图片自动算作“图片”）；每个事项要有至少两类材料相互印证，只有一类材料（未分类的不算）的事项显示为“待完善”。\r\n\
         3. 图片要有文字说明：把图片文件名改成说明文字，或在图片旁边放一个同名的 .txt 文件写说明。\r\n\
         4. 自评报告放进“{REPORT_FOLDER}”文件夹，典型案例放进“{CASES_FOLDER}”文件夹（每个案例一个文件或一个文件夹）。\r\n\
         5. 放在事项文件夹以外的文件不会上传，市质量强市办公室会看到提醒。\r\n\
         6. 删除或移出文件夹的文件会自动从服务器撤下。请不要删除本文件夹中的隐藏文件。\r\n\
         7. 本文件夹中的“{TODO_FILE}”随时列出本单位还缺什么、哪些文件被退回及原因、哪些文件没能上传，请常打开看看。\r\n\
         8. 联系人名单（附件4，分管领导、工作人员各 1 名）请用本单位令牌登录迎检系统网页，在本单位页面填写；没装客户端的电脑也可以在那里上传材料。\r\n\
         \r\n\
         材料截止时间：{deadline}\r\n",
        deadline = chinese_date_time(catalogue.deadlines.evidence),
        name = department.name,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_the_items_of_the_department_once() {
        let dir = tempfile::tempdir().unwrap();
        let catalogue = Catalogue::builtin();
        let police = catalogue.department("公安局").unwrap();
        let created = init_folder(catalogue, police, dir.path()).unwrap();
        let names: Vec<String> =
            created.iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_string()).collect();
        assert_eq!(
            names,
            ["08.03 昆仑2021专项行动", "11.02 公安打假机构力量和机制建设", "自评报告", "典型案例"]
        );
        assert!(dir.path().join(GUIDE_FILE).is_file());
        assert!(dir.path().join(MARKER_FILE).is_file());
        // A clerk renamed a folder's title: init again creates nothing new.
        fs::rename(dir.path().join("08.03 昆仑2021专项行动"), dir.path().join("08.03 昆仑行动")).unwrap();
        assert!(init_folder(catalogue, police, dir.path()).unwrap().is_empty());
    }
}
