//! The bundle's files read (and verified) on a second thread ahead of the zip writer: reading
//! and hashing one blob overlap with checksumming and writing the one before, instead of
//! taking turns. A few reused chunks are in flight, so memory stays bounded.

use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::blobs::BlobStore;

const CHUNK: usize = 1 << 20;
const IN_FLIGHT: usize = 4;

/// What the reading thread sends for each blob, in order: its bytes, then how it ended.
pub enum Piece {
    Bytes(Vec<u8>),
    /// The bytes copied, or why the blob could not be read or no longer has its hash.
    End(io::Result<u64>),
}

/// Feeds chunks of `CHUNK` bytes into the channel, taking empty ones back from the writer.
struct ChannelWriter<'a> {
    full: &'a SyncSender<Piece>,
    empty: &'a Receiver<Vec<u8>>,
    buf: Vec<u8>,
}

impl Write for ChannelWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.flush()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let next = self.empty.recv().map_err(|_| io::ErrorKind::BrokenPipe)?;
        let full = std::mem::replace(&mut self.buf, next);
        self.full.send(Piece::Bytes(full)).map_err(|_| io::ErrorKind::BrokenPipe.into())
    }
}

/// Runs `write` with the pieces of `blobs` (in order) read ahead on another thread. `write`
/// hands each emptied chunk back through the sender it is given; when it returns (early or
/// not) the channels close and the reader stops.
pub fn with_read_ahead<T>(
    store: &dyn BlobStore,
    blobs: &[&str],
    write: impl FnOnce(Receiver<Piece>, SyncSender<Vec<u8>>) -> T,
) -> T {
    let (full_tx, full_rx) = sync_channel::<Piece>(IN_FLIGHT);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(IN_FLIGHT + 2);
    for _ in 0..=IN_FLIGHT {
        let _ = empty_tx.send(Vec::with_capacity(CHUNK));
    }
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let buf = empty_rx.recv().unwrap_or_default();
            let mut out = ChannelWriter { full: &full_tx, empty: &empty_rx, buf };
            for sha in blobs {
                let copied = store.copy_verified(sha, &mut out).and_then(|n| out.flush().map(|()| n));
                let failed = copied.is_err();
                if full_tx.send(Piece::End(copied)).is_err() || failed {
                    return;
                }
            }
        });
        write(full_rx, empty_tx)
    })
}
