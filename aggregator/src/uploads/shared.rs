//! Uploads in the object store every instance shares, under `uploads/<id>/`: `info.json`, put
//! once at creation, and the body of each `PATCH` in objects of up to 8 MiB, each named by the
//! offset it starts at (20 digits), streamed in parts and visible once complete (the last with
//! however much of the body arrived). The offset held is the end of the chain of parts from 0;
//! a part left by a request that raced another at the same offset is off the chain and ignored.
//! Every instance reads the same chain, so an upload begun through one goes on through any
//! other.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{self, Read};

use bytes::Bytes;
use jiff::Timestamp;
use yingjian_shared::Sha256Hex;

use super::{Held, Partials, UploadInfo};
use crate::blobs::{BlobStore, S3Blobs, Stored, store_from};

const ROOT: &str = "uploads";
const INFO: &str = "info.json";
/// The most one part object holds.
const PIECE: u64 = 8 << 20;

pub struct Shared {
    store: S3Blobs,
}

impl Shared {
    pub fn new(store: S3Blobs) -> Shared {
        Shared { store }
    }

    /// The objects of upload `id`: name, length, last change.
    fn objects(&self, id: &str) -> io::Result<Vec<(String, u64, Timestamp)>> {
        self.store.list_files(&format!("{ROOT}/{id}"))
    }
}

fn key(id: &str, name: &str) -> String {
    format!("{ROOT}/{id}/{name}")
}

fn part_name(at: u64) -> String {
    format!("{at:020}")
}

/// The parts from offset 0 on, each starting where the one before ended: their offsets, and
/// where the last ends.
fn chain(objects: &[(String, u64, Timestamp)]) -> (Vec<u64>, u64) {
    let parts: BTreeMap<u64, u64> = objects
        .iter()
        .filter(|(_, size, _)| *size > 0)
        .filter_map(|(name, size, _)| Some((name.parse().ok()?, *size)))
        .collect();
    let (mut starts, mut at) = (Vec::new(), 0);
    while let Some(size) = parts.get(&at) {
        starts.push(at);
        at += size;
    }
    (starts, at)
}

impl Partials for Shared {
    fn make(&self, id: &str, info: &UploadInfo) -> io::Result<()> {
        let info = serde_json::to_vec(info).map_err(io::Error::other)?;
        self.store.put_bytes(&key(id, INFO), Bytes::from(info))
    }

    fn read(&self, id: &str) -> io::Result<Option<Held>> {
        let objects = self.objects(id)?;
        if !objects.iter().any(|(name, ..)| name == INFO) {
            return Ok(None);
        }
        let Some(info) = self.store.get_bytes(&key(id, INFO))? else { return Ok(None) };
        let Ok(info) = serde_json::from_slice::<UploadInfo>(&info) else {
            // Not written by this server: not an upload.
            return Ok(None);
        };
        let (_, offset) = chain(&objects);
        let touched = objects.iter().map(|(_, _, when)| *when).max().unwrap_or(info.created);
        Ok(Some(Held { info, offset, touched }))
    }

    /// One object per `PIECE` of the body: an instance killed mid-request loses at most the
    /// piece it was writing, not all the request brought.
    fn append(&self, id: &str, from: u64, next: &mut dyn FnMut() -> Option<Bytes>) -> io::Result<()> {
        let (mut at, mut carried, mut ended) = (from, None::<Bytes>, false);
        while !ended {
            let mut room = PIECE;
            let written = self.store.put_stream(&key(id, &part_name(at)), &mut || {
                while room > 0 {
                    let Some(mut chunk) = carried.take().or_else(&mut *next) else {
                        ended = true;
                        break;
                    };
                    if chunk.is_empty() {
                        continue;
                    }
                    if chunk.len() as u64 > room {
                        carried = Some(chunk.split_off(room as usize));
                    }
                    room -= chunk.len() as u64;
                    return Ok(Some(chunk));
                }
                Ok(None)
            })?;
            at += written;
        }
        Ok(())
    }

    /// The parts, read in order, become one blob, hashed on the way.
    fn finish(
        &self,
        id: &str,
        blobs: &dyn BlobStore,
        expected: Option<&Sha256Hex>,
    ) -> io::Result<Result<Stored, Sha256Hex>> {
        let (starts, length) = chain(&self.objects(id)?);
        let mut parts = Parts {
            store: &self.store,
            keys: starts.iter().map(|&at| key(id, &part_name(at))).collect(),
            current: None,
        };
        store_from(blobs, &mut parts, Some(length), expected)
    }

    fn remove(&self, id: &str) -> io::Result<()> {
        for (name, ..) in self.objects(id)? {
            self.store.delete_file(&key(id, &name))?;
        }
        Ok(())
    }

    fn ids(&self) -> io::Result<Vec<String>> {
        let listed = self.store.list_files(ROOT)?;
        let ids: BTreeSet<&str> = listed.iter().filter_map(|(name, ..)| name.split('/').next()).collect();
        Ok(ids.into_iter().map(str::to_string).collect())
    }
}

/// The parts of an upload read one after another, each opened when the one before ends.
struct Parts<'a> {
    store: &'a S3Blobs,
    keys: VecDeque<String>,
    current: Option<Box<dyn Read + Send>>,
}

impl Read for Parts<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(current) = &mut self.current {
                let n = current.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
            }
            let Some(next) = self.keys.pop_front() else { return Ok(0) };
            self.current = Some(self.store.open_file(&next)?.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_is_the_end_of_the_chain_from_zero() {
        let part = |at: u64, size: u64| (part_name(at), size, Timestamp::UNIX_EPOCH);
        let info = (INFO.to_string(), 100, Timestamp::UNIX_EPOCH);
        assert_eq!(chain(std::slice::from_ref(&info)), (vec![], 0));
        // A piece cut off empty, and one left off the chain by a request that raced another,
        // do not count.
        let objects = [info, part(0, 8), part(8, 4), part(12, 0), part(20, 8), part(5, 3)];
        assert_eq!(chain(&objects), (vec![0, 8], 12));
    }
}
