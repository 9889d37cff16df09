//! `AppState`: everything a request handler may reach — the `Services` (which it dereferences
//! to) and what only requests hold: the bundles' and printouts' shelves, the resumable uploads
//! under way and the open event streams.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::blobs::{BlobStore, LocalBlobs, S3Blobs};
use crate::bundle::Bundles;
use crate::config::{Config, ConfigError};
use crate::db::Db;
use crate::error::AppResult;
use crate::print::Printouts;
use crate::services::Services;
use crate::uploads::Uploads;
use crate::worker::Worker;

/// Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub bundles: Bundles,
    /// The printable PDFs (纸质版) built from the 打包 page.
    pub printouts: Printouts,
    /// Resumable (tus) uploads under way.
    pub uploads: Arc<Uploads>,
    /// The live event streams open on this instance, by token.
    streams: Arc<Mutex<HashMap<i64, usize>>>,
}

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.services
    }
}

/// An open event stream's place among its token's: given back when dropped.
pub struct StreamSlot {
    token: i64,
    streams: Arc<Mutex<HashMap<i64, usize>>>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = streams.get_mut(&self.token) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                streams.remove(&self.token);
            }
        }
    }
}

impl AppState {
    /// Opens the data folder (creating it on a first run) with the configured catalogue.
    pub fn open(mut config: Config) -> AppResult<AppState> {
        std::fs::create_dir_all(&config.data).map_err(|e| {
            ConfigError::Setting(format!("cannot create the data folder {}: {e}", config.data.display()))
        })?;
        // The worker runs in a folder of its own: the paths it is given must not depend on ours.
        config.data = std::path::absolute(&config.data).map_err(|e| {
            ConfigError::Setting(format!("cannot resolve the data folder {}: {e}", config.data.display()))
        })?;
        crate::programs::check(&config.print)?;
        let catalogue = config.catalogue()?;
        let deadlines = config.deadlines.clone().unwrap_or_else(|| catalogue.deadlines.clone());
        let db = match &config.database.url {
            None => Db::open(&config.data.join("yingjian.sqlite3"))?,
            Some(url) => Db::open_postgres(url, config.database.ca.as_deref())?,
        };
        let shared = match &config.blobs.s3 {
            None => None,
            Some(s3) => Some(S3Blobs::open(s3).map_err(|e| {
                ConfigError::Setting(format!(
                    "[blobs] s3: cannot use bucket {:?} at {}: {e}",
                    s3.bucket, s3.endpoint
                ))
            })?),
        };
        let blobs: Arc<dyn BlobStore> = match &shared {
            None => Arc::new(LocalBlobs::open(&config.data, config.direct_io)?),
            Some(s3) => Arc::new(s3.clone()),
        };
        let expire = Duration::from_secs(config.uploads.expire_secs);
        let uploads = Arc::new(match &shared {
            None => Uploads::open(&config.data, expire)?,
            Some(s3) => Uploads::shared(s3.clone(), expire),
        });
        let printouts = Printouts::new(config.data.join("print"), shared.clone());
        let bundles = Bundles::with_store(config.data.join("bundles"), shared);
        let worker = Worker::new(&config.worker, &config.data);
        let services = Services::new(db, blobs, worker, catalogue, deadlines, config);
        Ok(AppState { services, bundles, printouts, uploads, streams: Arc::default() })
    }

    /// A place for another event stream of `token`, unless it holds `max_event_streams` already.
    pub fn open_stream(&self, token: i64) -> Option<StreamSlot> {
        let mut streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        let open = streams.entry(token).or_default();
        if *open >= self.config.max_event_streams {
            return None;
        }
        *open += 1;
        Some(StreamSlot { token, streams: self.streams.clone() })
    }
}
