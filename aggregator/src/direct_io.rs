//! Writing a blob past the page cache (`O_DIRECT`, Linux) where the filesystem allows it.
//!
//! A blob is synced as soon as it is written and not read again until a bundle is built, so the
//! page cache only costs: a copy into it, the kernel's writeback, and dropping it afterwards —
//! after hashing, the larger part of the server's CPU per upload. `O_DIRECT` wants aligned
//! memory, offsets and lengths, so bytes are gathered in an aligned block that goes to the disk
//! whole; the last, shorter piece goes through the cache.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

/// Alignment `O_DIRECT` asks of memory, file offsets and lengths (a page covers every block size).
const ALIGN: usize = 4096;
/// Bytes written per request: large enough that one upload keeps the disk busy.
const BLOCK: usize = 1 << 20;

thread_local! {
    /// The block of the last upload this thread wrote: writer threads are pooled, and a fresh
    /// megabyte per upload costs page faults that show on a batch of small files.
    static SPARE: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// Creates `path` for writing `size` bytes (if known), past the page cache when that is at
/// least a block and the filesystem allows it (not tmpfs, for one); says which it did. A
/// smaller blob would go through the cache whole anyway, at the cost of two more system calls.
pub fn create_new(path: &Path, size: Option<u64>) -> io::Result<(File, bool)> {
    #[cfg(target_os = "linux")]
    if size.is_some_and(|s| s >= BLOCK as u64) {
        use std::os::unix::fs::OpenOptionsExt;
        let direct = rustix::fs::OFlags::DIRECT.bits().cast_signed();
        match File::options().write(true).create_new(true).custom_flags(direct).open(path) {
            Ok(file) => return Ok((file, true)),
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => {}
            Err(e) => return Err(e),
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = size;
    Ok((File::options().write(true).create_new(true).open(path)?, false))
}

/// Writes to a file opened by `create_new`, in aligned blocks when it bypasses the cache.
pub struct Sink<'a> {
    file: &'a mut File,
    /// `None` when the file goes through the page cache.
    block: Option<Block>,
}

struct Block {
    buf: Vec<u8>,
    /// Where the aligned part of `buf` starts.
    start: usize,
    len: usize,
}

impl<'a> Sink<'a> {
    pub fn new(file: &'a mut File, direct: bool) -> Sink<'a> {
        let block = direct.then(|| {
            let buf = SPARE.take().unwrap_or_else(|| vec![0u8; BLOCK + ALIGN]);
            let start = buf.as_ptr().align_offset(ALIGN);
            Block { buf, start, len: 0 }
        });
        Sink { file, block }
    }

    pub fn put(&mut self, mut data: &[u8]) -> io::Result<()> {
        let Some(block) = &mut self.block else { return self.file.write_all(data) };
        while !data.is_empty() {
            let n = (BLOCK - block.len).min(data.len());
            let at = block.start + block.len;
            block.buf[at..at + n].copy_from_slice(&data[..n]);
            block.len += n;
            data = &data[n..];
            if block.len == BLOCK {
                write_direct(self.file, &block.buf[block.start..block.start + BLOCK])?;
                block.len = 0;
            }
        }
        Ok(())
    }

    /// Writes what is left. The file must be synced afterwards, as any.
    pub fn finish(self) -> io::Result<()> {
        let Some(block) = &self.block else { return Ok(()) };
        let aligned = block.len / ALIGN * ALIGN;
        let (head, tail) = block.buf[block.start..block.start + block.len].split_at(aligned);
        write_direct(self.file, head)?;
        if !tail.is_empty() {
            // `O_DIRECT` cannot write a partial block: the tail goes through the cache.
            through_cache(self.file)?;
            self.file.write_all(tail)?;
        }
        Ok(())
    }
}

/// Writes aligned bytes past the cache; through it if the filesystem took `O_DIRECT` at open
/// but refuses it on write (some want another alignment), so such a disk costs speed, not
/// every upload.
fn write_direct(file: &mut File, data: &[u8]) -> io::Result<()> {
    let at = file.stream_position()?;
    match file.write_all(data) {
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
            through_cache(file)?;
            // Part of it may have gone out before the refusal: write it all again from `at`.
            file.seek(SeekFrom::Start(at))?;
            file.write_all(data)
        }
        written => written,
    }
}

/// Clears `O_DIRECT`: what follows goes through the page cache.
#[cfg_attr(not(target_os = "linux"), expect(clippy::unnecessary_wraps, reason = "fallible on Linux"))]
fn through_cache(file: &File) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let flags = rustix::fs::fcntl_getfl(file)?;
        rustix::fs::fcntl_setfl(file, flags - rustix::fs::OFlags::DIRECT)?;
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
    Ok(())
}

impl Drop for Sink<'_> {
    fn drop(&mut self) {
        if let Some(block) = self.block.take() {
            SPARE.set(Some(block.buf));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_around_the_block_and_alignment_edges_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        for (i, len) in [0, 1, ALIGN - 1, ALIGN, ALIGN + 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 5]
            .into_iter()
            .enumerate()
        {
            let data: Vec<u8> = (0..len).map(|j| (j * 31 + i) as u8).collect();
            let path = dir.path().join(format!("blob{i}"));
            let (mut file, direct) = create_new(&path, Some(len as u64)).unwrap();
            let mut sink = Sink::new(&mut file, direct);
            // Uneven pieces, as they come off the network.
            for piece in data.chunks(7919) {
                sink.put(piece).unwrap();
            }
            sink.finish().unwrap();
            file.sync_all().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), data, "{len} bytes (direct: {direct})");
        }
    }

    #[test]
    fn a_write_the_filesystem_refuses_past_the_cache_goes_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        let (mut file, _) = create_new(&path, Some(BLOCK as u64)).unwrap();
        // Misaligned memory: refused by `O_DIRECT` wherever the file was opened with it.
        let buf: Vec<u8> = (0..=ALIGN * 2).map(|i| (i % 251) as u8).collect();
        let start = buf.as_ptr().align_offset(ALIGN) + 1;
        let data = &buf[start..start + ALIGN];
        write_direct(&mut file, data).unwrap();
        write_direct(&mut file, data).unwrap();
        file.sync_all().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), [data, data].concat());
    }
}
