//! Decoding a batch of PNG files named by path: each read without ever blocking and decoded by
//! [`crate::png`], contiguous runs of files on separate threads.
//!
//! A file is opened with `O_NONBLOCK` (so that opening a FIFO returns at once), checked with `fstat` to be
//! a regular file of at most [`MAX_FILE_BYTES`], and read whole. Any failure along the way makes the file
//! "not handled", as an unhandled PNG is.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::blob::Blob;
use crate::parallel::{in_parallel, runs, thread_count_for, MIN_WORK_PER_THREAD};
use crate::png::{decode_gray, Scratch, MAX_FILE_BYTES};

/// Status of a file decoded into its output slot.
pub const DECODED: i32 = 0;
/// Status of a file not handled (not a handled PNG, or not readable); its output slot is unspecified.
pub const NOT_HANDLED: i32 = 1;

/// Estimated cost of opening and reading one file, in the pixel units of
/// [`thread_count_for`]'s work estimate (a few microseconds of system calls).
const FILE_WORK: usize = 64 * 64;

/// `O_NONBLOCK` of the platforms whose value is known; elsewhere 0, and the file type is checked with a
/// `stat` before opening instead.
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
))]
const O_NONBLOCK: i32 = 0x0004;
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(any(
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "sparc",
        target_arch = "sparc64"
    ))
))]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly",
    all(
        any(target_os = "linux", target_os = "android"),
        not(any(
            target_arch = "mips",
            target_arch = "mips64",
            target_arch = "sparc",
            target_arch = "sparc64"
        ))
    )
)))]
const O_NONBLOCK: i32 = 0;

/// The path a file's bytes name.
#[cfg(unix)]
fn path_of(bytes: &[u8]) -> Option<&Path> {
    use std::os::unix::ffi::OsStrExt;
    Some(Path::new(std::ffi::OsStr::from_bytes(bytes)))
}

/// The path a file's bytes name (UTF-8 on platforms without byte paths).
#[cfg(not(unix))]
fn path_of(bytes: &[u8]) -> Option<&Path> {
    std::str::from_utf8(bytes).ok().map(Path::new)
}

/// Opens `path` for reading without blocking.
#[cfg(unix)]
fn open_nonblocking(path: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    if O_NONBLOCK == 0 && !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .ok()
}

/// Opens `path` for reading, after checking that it is a regular file.
#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> Option<File> {
    let _ = O_NONBLOCK;
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    File::open(path).ok()
}

/// Reads the regular file the bytes `path` name into `buffer` (replacing its contents); false when it
/// cannot be opened, is not a regular file, is larger than [`MAX_FILE_BYTES`] or fails to read.
pub fn read_file(path: &[u8], buffer: &mut Vec<u8>) -> bool {
    buffer.clear();
    let Some(file) = path_of(path).and_then(open_nonblocking) else {
        return false;
    };
    match file.metadata() {
        Ok(meta) if meta.is_file() && meta.len() <= MAX_FILE_BYTES as u64 => {}
        _ => return false,
    }
    // One byte more than allowed tells a file that grew past the limit since `fstat`.
    let limit = MAX_FILE_BYTES as u64 + 1;
    file.take(limit).read_to_end(buffer).is_ok() && buffer.len() <= MAX_FILE_BYTES
}

/// Reads and decodes files `first..first + status.len()` into `out` (`pixels` bytes each), writing each
/// file's status.
fn decode_run(
    files: Blob,
    first: usize,
    pixels: usize,
    size: (usize, usize),
    out: &mut [u8],
    status: &mut [i32],
) {
    let mut buffer = Vec::new();
    let mut scratch = Scratch::default();
    let (height, width) = size;
    for (k, (image, status)) in out.chunks_exact_mut(pixels).zip(status.iter_mut()).enumerate() {
        let decoded = read_file(files.item(first + k), &mut buffer)
            && decode_gray(&buffer, height, width, &mut scratch, image);
        *status = if decoded { DECODED } else { NOT_HANDLED };
    }
}

/// How many threads to use for `count` files of `height x width` pixels: `requested` (0: the machine's
/// available parallelism), fewer for small batches (see [`thread_count_for`]).
pub fn png_thread_count(requested: u32, count: usize, height: usize, width: usize) -> usize {
    thread_count_for(
        requested,
        count,
        FILE_WORK / 64,
        height,
        width,
        MIN_WORK_PER_THREAD,
    )
}

/// Decodes every file of `files` to `height x width` gray into `out` (`[count, height, width]`) with
/// `status[k]` [`DECODED`] or [`NOT_HANDLED`], using up to `threads` threads (see [`png_thread_count`]).
/// With `height` or `width` 0 every file is not handled, and none is opened.
pub fn decode_files(
    files: Blob,
    height: usize,
    width: usize,
    threads: u32,
    out: &mut [u8],
    status: &mut [i32],
) {
    let count = files.len();
    debug_assert_eq!(status.len(), count);
    let pixels = height * width;
    if pixels == 0 {
        status.fill(NOT_HANDLED);
        return;
    }
    debug_assert_eq!(out.len(), count * pixels);
    let threads = png_thread_count(threads, count, height, width);
    let (mut out_rest, mut status_rest) = (out, status);
    let mut parts = Vec::new();
    for run in runs(count, threads) {
        let (out_part, out_tail) = std::mem::take(&mut out_rest).split_at_mut(run.len() * pixels);
        let (status_part, status_tail) = std::mem::take(&mut status_rest).split_at_mut(run.len());
        (out_rest, status_rest) = (out_tail, status_tail);
        parts.push((run.start, out_part, status_part));
    }
    in_parallel(parts, |(first, out, status)| {
        decode_run(files, first, pixels, (height, width), out, status)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mnistvec-png-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn unreadable_paths_are_not_handled() {
        let dir = temp_dir("unreadable");
        let empty = dir.join("empty.png");
        std::fs::write(&empty, b"").unwrap();
        let missing = dir.join("missing.png");
        let names = [
            dir.to_str().unwrap(),
            empty.to_str().unwrap(),
            missing.to_str().unwrap(),
            "a\0b",
        ];
        let paths: Vec<u8> = names.iter().flat_map(|n| n.bytes()).collect();
        let mut offsets = vec![0u64];
        for name in names {
            offsets.push(offsets.last().unwrap() + name.len() as u64);
        }
        let files = Blob {
            bytes: &paths,
            offsets: &offsets,
        };
        assert!(files.is_valid());
        let mut out = vec![0u8; 4 * 9];
        let mut status = vec![-1; 4];
        decode_files(files, 3, 3, 2, &mut out, &mut status);
        assert_eq!(status, vec![NOT_HANDLED; 4]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
