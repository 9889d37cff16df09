//! `demo`: the whole system on one machine. A fresh aggregator on loopback, a token and a real
//! agent process per department watching `<dir>/<部门>/` (laid out by `yingjian-agent init`),
//! sample evidence dropped in so the dashboard tells a story, until Ctrl-C.

mod documents;
mod samples;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use jiff::{SignedDuration, Timestamp};
use tokio::net::TcpListener;
use yingjian_shared::{Catalogue, Contact, ContactRole, Contacts, Deadlines};

use crate::auth::{new_token, token_hash};
use crate::config::Config;
use crate::db::AuditEntry;
use crate::error::{AppError, AppResult};
use crate::server::launch;
use crate::state::AppState;

/// Agent processes, stopped (and reaped) when the demo ends, however it ends.
struct Agents(Vec<Child>);

impl Drop for Agents {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
        }
        for child in &mut self.0 {
            let _ = child.wait();
        }
    }
}

/// The agent binary, built beside this one by `cargo build --workspace`.
fn agent_binary() -> AppResult<PathBuf> {
    if let Some(path) = std::env::var_os("YINGJIAN_AGENT_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()?;
    let name = if cfg!(windows) { "yingjian-agent.exe" } else { "yingjian-agent" };
    let path = exe.parent().map(|p| p.join(name)).filter(|p| p.is_file());
    path.ok_or_else(|| {
        AppError::Command(format!(
            "the demo needs {name} beside {}: build both with `cargo build --release --workspace`",
            exe.display()
        ))
    })
}

/// Runs the demo until `shutdown` completes.
pub async fn run(
    dir: &Path,
    listen: std::net::SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> AppResult<()> {
    let agent = agent_binary()?;
    // A fresh start every time; only what the demo itself makes is removed.
    let catalogue = Catalogue::builtin();
    let own = ["data", ".agents"]
        .into_iter()
        .map(str::to_string)
        .chain(catalogue.departments.iter().map(|d| d.name.clone()));
    for name in own {
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
    }
    let config = Config {
        data: dir.join("data"),
        listen,
        city: "平顶山市".into(),
        notice_contact: "联系人：王主任，电话：0375-2661234，邮箱：zqb@pds.gov.cn".into(),
        // As the weeks before the hand-in look: contacts due in 10 days, evidence in 17.
        deadlines: Some(Deadlines {
            contacts: Timestamp::now() + SignedDuration::from_hours(10 * 24),
            evidence: Timestamp::now() + SignedDuration::from_hours(17 * 24),
        }),
        ..Config::default()
    };
    let state = AppState::open(config)?;
    let listener = TcpListener::bind(listen).await.map_err(|e| {
        AppError::Command(format!("cannot listen on {listen}: {e} (choose another with --listen)"))
    })?;
    let url = format!("http://{}", listener.local_addr()?);
    let office = new_token()?;
    state.db.insert_token(token_hash(&office), None, "office".into()).await?;
    let server = tokio::spawn(launch(state.clone(), listener, shutdown));

    let mut agents = Agents(Vec::new());
    // One department's login, to see the dashboard as its clerk does.
    let mut police_login = None;
    for dept in &state.catalogue.departments {
        let folder = dir.join(&dept.name);
        let init =
            Command::new(&agent).args(["init", "--dept", &dept.id, "--folder"]).arg(&folder).output()?;
        if !init.status.success() {
            return Err(AppError::Command(format!(
                "yingjian-agent init failed: {}",
                String::from_utf8_lossy(&init.stderr).trim()
            )));
        }
        let token = new_token()?;
        state.db.insert_token(token_hash(&token), Some(dept.id.clone()), format!("demo-{}", dept.id)).await?;
        if dept.id == "police" {
            police_login = Some((dept.name.clone(), token.clone()));
        }
        let child = Command::new(&agent)
            .args(["run", "--server", &url, "--settle-ms", "1000", "--folder"])
            .arg(&folder)
            .arg("--state")
            .arg(dir.join(".agents").join(&dept.id))
            .env("YINGJIAN_TOKEN", token)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        agents.0.push(child);
    }
    let mut dropped = samples::samples();
    // Documents with Chinese text for the reading to find, where a Chinese font is installed
    // (the printed volumes need one too); the plain samples stand in for them otherwise.
    let font = crate::print::font::locate(state.config.print.font.as_deref())
        .map_err(AppError::from)
        .and_then(|(path, index)| crate::print::font::load(&path, index).map_err(AppError::internal));
    match font {
        Ok(font) => {
            for (department, path, notice) in documents::documents() {
                let bytes = documents::notice(&notice, &font).map_err(AppError::internal)?;
                dropped.retain(|s| s.path != path);
                dropped.push(samples::Sample { department, path, bytes });
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "the demo's documents need a Chinese font; plain samples instead");
        }
    }
    for sample in dropped {
        let dept = state.catalogue.department(sample.department).expect("samples name known departments");
        let path = sample.path.split('/').fold(dir.join(&dept.name), |p, c| p.join(c));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, sample.bytes)?;
    }
    for (dept, leader, staff) in [("police", "张伟", "李娜"), ("water", "王强", "刘洋")] {
        file_contacts(&state, dept, leader, staff).await?;
    }

    println!("Yingjian demo is running: the aggregator and {} agents.", agents.0.len());
    println!("  dashboard:    {url}/login");
    println!("  office token: {office}");
    if let Some((name, token)) = police_login {
        println!("  {name} token: {token}   (the dashboard as one department sees it)");
    }
    println!(
        "  folders:      {}/<部门>/ — drop a file into an item folder and watch the dashboard",
        dir.display()
    );
    println!("  data folder:  {}   (bundles go to its bundles/)", dir.join("data").display());
    println!("Press Ctrl-C to stop.");
    let outcome = server.await.map_err(AppError::internal)?;
    drop(agents);
    println!("demo stopped");
    outcome
}

async fn file_contacts(state: &AppState, dept: &str, leader: &str, staff: &str) -> AppResult<()> {
    let name = state.catalogue.department(dept).map_or(dept, |d| d.name.as_str());
    let person = |role, person: &str, position: &str| Contact {
        role,
        name: person.into(),
        gender: String::new(),
        unit: format!("市{name}"),
        position: position.into(),
        phone: "0375-2588106".into(),
        mobile: String::new(),
        email: String::new(),
    };
    let contacts = Contacts {
        department: Some(dept.into()),
        contacts: vec![
            person(ContactRole::Leader, leader, "副局长"),
            person(ContactRole::Staff, staff, "科员"),
        ],
    };
    let body = serde_json::to_string(&contacts).map_err(AppError::internal)?;
    let audit = AuditEntry {
        at: Timestamp::now(),
        department: Some(dept.into()),
        agent: Some("demo".into()),
        host: None,
        action: "contacts".into(),
        detail: format!("{leader}、{staff}"),
    };
    Ok(state.db.put_contacts(dept.into(), body, audit).await?)
}
