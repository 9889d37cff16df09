//! `aggregator.toml`: every setting, each with a default that serves a first run on one machine.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use yingjian_shared::{Catalogue, Deadlines};

use crate::tls::TlsError;

/// What is wrong with the configuration or with what it names (the catalogue, the data folder,
/// the TLS files, a font, a program, the OCR models): found when the server starts or a
/// command opens the state, and said then, never to a request.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {what} {}: {source}", .path.display())]
    Unreadable { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{what} {} is not valid: {message}", .path.display())]
    Invalid { what: &'static str, path: PathBuf, message: String },
    /// A setting that cannot be used as it is: the message names it and what to write instead.
    #[error("{0}")]
    Setting(String),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Default largest upload: a long scanned report fits, a runaway file does not.
pub const DEFAULT_MAX_UPLOAD: u64 = 2 * 1024 * 1024 * 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The city, as people read it everywhere (`平顶山市`): the dashboard's title, the bundle's
    /// root folder, the 目录's title, `bag-info.txt`. Empty names none.
    pub city: String,
    /// The office's contact line printed at the foot of each 催办通知 (`联系人：…，电话：…`).
    pub notice_contact: String,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Data folder: database, blobs, bundles.
    pub data: PathBuf,
    /// A catalogue file (TOML or JSON) for another year; the built-in 2021 one otherwise.
    pub catalogue: Option<PathBuf>,
    /// Largest accepted upload in bytes.
    pub max_upload_bytes: u64,
    /// Overrides the catalogue's deadlines.
    pub deadlines: Option<Deadlines>,
    /// An agent that has not sent a heartbeat for this long is shown as silent.
    pub silent_after_secs: u64,
    /// Live event streams one token may hold open at once.
    pub max_event_streams: usize,
    /// Serve HTTPS with this certificate chain and key (PEM files).
    pub tls: Option<TlsFiles>,
    pub bundle: BundleSettings,
    pub timeouts: Timeouts,
    pub uploads: UploadSettings,
    pub print: PrintSettings,
    pub worker: WorkerSettings,
    /// Write blobs of 1 MiB or more past the page cache (`O_DIRECT`, Linux) where the
    /// filesystem allows it; `false` writes every blob through the cache.
    pub direct_io: bool,
    pub blobs: BlobSettings,
    pub database: DatabaseSettings,
    pub reading: ReadingSettings,
    /// `[quality]`: the scan checks' thresholds (DA/T 31-2017), each with its rule.
    pub quality: yingjian_reader::quality::Thresholds,
}

/// `[reading]`: reading every stored file in the worker (text, OCR, fields, scan checks).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReadingSettings {
    /// `false` stores and bundles files without reading them (no OCR, no holds, no search in
    /// the text).
    pub enabled: bool,
    /// Longest one file may take to read (OCR of a long scan is a few seconds a page).
    pub timeout_secs: u64,
    /// Memory of the worker that reads (the OCR models and one page image).
    pub memory_mib: u64,
    /// The folder of the OCR model files; unset, the models inside the binary. A build without
    /// them (the Debian package's) reads `/usr/share/yingjian/models` unless this says otherwise.
    pub models: Option<PathBuf>,
}

/// Where a build without embedded models finds them: the Debian package puts them there.
const PACKAGED_MODELS: &str = "/usr/share/yingjian/models";

impl Default for ReadingSettings {
    fn default() -> Self {
        let models = (!cfg!(feature = "embedded-models")).then(|| PathBuf::from(PACKAGED_MODELS));
        ReadingSettings { enabled: true, timeout_secs: 600, memory_mib: 2048, models }
    }
}

/// `[database]`: SQLite in the data folder unless `url` names a PostgreSQL database
/// (`postgres://user:password@host:5432/yingjian`), also from `YINGJIAN_DATABASE_URL` (with or
/// without a config file). `?sslmode=require` speaks TLS, the server's certificate checked
/// against `ca` (a PEM file of the CA that signed it) or else the system's roots.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: Option<String>,
    pub ca: Option<PathBuf>,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("DatabaseSettings")
            .field("url", &self.url.as_ref().map(|_| "…"))
            .field("ca", &self.ca)
            .finish()
    }
}

/// `[blobs]`: where the evidence's bytes live; the data folder unless `s3` names a bucket.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlobSettings {
    pub s3: Option<S3Settings>,
}

/// `[blobs] s3 = { endpoint, bucket, region, access_key, secret_key }`: an S3-compatible store
/// (Garage, MinIO, a cloud's). The keys may instead come from `YINGJIAN_S3_ACCESS_KEY` and
/// `YINGJIAN_S3_SECRET_KEY`, so they need not be in the file.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// `http://127.0.0.1:3900`: plain HTTP only when the address says so.
    pub endpoint: String,
    pub bucket: String,
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default)]
    pub access_key: String,
    #[serde(default)]
    pub secret_key: String,
}

fn default_region() -> String {
    // Garage's default region.
    "garage".into()
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

impl S3Settings {
    /// The keys from the environment where the file leaves them out.
    fn with_environment(mut self) -> S3Settings {
        for (value, name) in [
            (&mut self.access_key, "YINGJIAN_S3_ACCESS_KEY"),
            (&mut self.secret_key, "YINGJIAN_S3_SECRET_KEY"),
        ] {
            if value.is_empty() {
                *value = std::env::var(name).unwrap_or_default();
            }
        }
        self
    }
}

/// `[timeouts]`: how long a connection may keep the server waiting (docs/api.md, *Limits*).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timeouts {
    /// For a request's headers (and a TLS handshake); also how long an idle keep-alive
    /// connection stays open.
    pub header_secs: u64,
    /// For the next piece of a request body: a stalled upload is ended, a slow one is not.
    pub body_idle_secs: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { header_secs: 20, body_idle_secs: 60 }
    }
}

/// `[uploads]`: resumable (tus) uploads.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadSettings {
    /// A partial upload that has not grown for this long is dropped.
    pub expire_secs: u64,
    /// Partial uploads a department may hold open at once.
    pub max_open: usize,
    /// Bytes a department's open uploads may promise (`Upload-Length`) together.
    pub max_promised_bytes: u64,
}

impl Default for UploadSettings {
    fn default() -> Self {
        UploadSettings { expire_secs: 24 * 3600, max_open: 20, max_promised_bytes: 8 << 30 }
    }
}

/// `[print]`: the paper version (`print`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrintSettings {
    /// The font: `path` or `path#index` of a `.ttc`; a system font with Chinese (Noto Sans CJK
    /// SC, SimSun) otherwise.
    pub font: Option<String>,
    /// LibreOffice, to turn Office files into pages: `soffice` on PATH when unset, never when `""`.
    pub soffice: Option<String>,
    /// qpdf, to put PDFs' pages into volumes as they are, whatever their size: `qpdf` on PATH
    /// when unset; never when `""` (PDFs are then drawn again, and one over 64 MB is not printed).
    pub qpdf: Option<String>,
    /// Longest LibreOffice may take over one file.
    pub office_timeout_secs: u64,
    /// About how many pages a volume holds: an area with more goes on in further volumes (续01,
    /// 续02 …), cut between files, with a 总目录 of the area across them.
    pub volume_pages: usize,
}

impl Default for PrintSettings {
    fn default() -> Self {
        PrintSettings { font: None, soffice: None, qpdf: None, office_timeout_secs: 120, volume_pages: 300 }
    }
}

/// `[worker]`: the child processes that read what departments sent (pictures, PDFs, Office
/// files), so that no file can stop or swell the server (`worker`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    /// The program run as `PROGRAM worker`: this server's own binary when unset (a test harness
    /// that is not the binary finds `yingjian-aggregator` beside it).
    pub program: Option<PathBuf>,
    /// Address space a worker may take (`RLIMIT_AS`), in MiB.
    pub memory_mib: u64,
    /// CPU time a worker may use (`RLIMIT_CPU`), in seconds.
    pub cpu_secs: u64,
    /// Wall-clock time a job may take before its process group is killed, in seconds.
    pub timeout_secs: u64,
    /// Workers running at once.
    pub slots: usize,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings { program: None, memory_mib: 1024, cpu_secs: 600, timeout_secs: 300, slots: 2 }
    }
}

/// `[bundle]`: the nightly build.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BundleSettings {
    /// Local time (UTC+8) of the nightly build, `"02:00"`; `""` turns it off.
    pub nightly: String,
    /// How many bundles to keep.
    pub keep: usize,
}

impl Default for BundleSettings {
    fn default() -> Self {
        BundleSettings { nightly: "02:00".into(), keep: 7 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            city: String::new(),
            notice_contact: String::new(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: PathBuf::from("yingjian-data"),
            catalogue: None,
            max_upload_bytes: DEFAULT_MAX_UPLOAD,
            deadlines: None,
            silent_after_secs: 180,
            max_event_streams: 8,
            tls: None,
            bundle: BundleSettings::default(),
            timeouts: Timeouts::default(),
            uploads: UploadSettings::default(),
            print: PrintSettings::default(),
            worker: WorkerSettings::default(),
            direct_io: true,
            blobs: BlobSettings::default(),
            database: DatabaseSettings::default(),
            reading: ReadingSettings::default(),
            quality: yingjian_reader::quality::Thresholds::default(),
        }
    }
}

impl Config {
    /// Reads a config file; `None` gives the embedded defaults. Either way
    /// `YINGJIAN_DATABASE_URL` names the database when the file does not.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match path {
            None => Config::default(),
            Some(path) => Self::read(path)?,
        };
        if config.database.url.is_none() {
            config.database.url = std::env::var("YINGJIAN_DATABASE_URL").ok().filter(|u| !u.is_empty());
        }
        Ok(config)
    }

    fn read(path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = parse_file("config file", path, |text| toml::from_str(text))?;
        if let Some(s3) = config.blobs.s3.take() {
            let s3 = s3.with_environment();
            if s3.endpoint.is_empty()
                || s3.bucket.len() < 3
                || s3.access_key.is_empty()
                || s3.secret_key.is_empty()
            {
                return Err(ConfigError::Setting(format!(
                    "config file {}: [blobs] s3 needs endpoint, bucket (3 characters or more), access_key and secret_key (the keys may come from YINGJIAN_S3_ACCESS_KEY and YINGJIAN_S3_SECRET_KEY)",
                    path.display()
                )));
            }
            config.blobs.s3 = Some(s3);
        }
        // It names a folder in the bundle: a city's name, not a path.
        if config.city.chars().count() > 20
            || config.city.contains(['/', '\\'])
            || config.city.chars().any(char::is_control)
        {
            return Err(ConfigError::Setting(format!(
                "config file {}: city = {:?} is not a city's name (at most 20 characters, no / or \\)",
                path.display(),
                config.city
            )));
        }
        Ok(config)
    }

    /// The catalogue in force: the configured file, or the built-in one.
    pub fn catalogue(&self) -> Result<Catalogue, ConfigError> {
        match &self.catalogue {
            None => Ok(Catalogue::builtin().clone()),
            Some(path) => load_catalogue(path),
        }
    }
}

/// Loads a catalogue file, TOML or JSON by extension, and validates it.
pub fn load_catalogue(path: &Path) -> Result<Catalogue, ConfigError> {
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    parse_file("catalogue", path, |text| {
        if is_json { Catalogue::from_json(text) } else { Catalogue::from_toml(text) }
    })
}

/// A file the configuration names, read and parsed; either failure names the file.
fn parse_file<T, E: std::fmt::Display>(
    what: &'static str,
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
        what,
        path: path.into(),
        source,
    })?;
    parse(&text).map_err(|e| ConfigError::Invalid { what, path: path.into(), message: e.to_string() })
}
