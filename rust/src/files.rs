//! Writing a batch of files atomically: each to a new temporary sibling, then renamed over its target.
//!
//! A reader sees either the old file or the whole new one, never part of it: `rename` within one
//! filesystem is atomic. Each temporary file is created exclusively (`O_CREAT | O_EXCL`, mode 0666 less
//! the umask), written in full and closed before the rename; on any failure it is removed and the
//! target is left as it was. Files are independent: one failing does not stop the others.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// One file to write: where it goes, the temporary name it is written under first, and its bytes.
#[derive(Clone, Copy, Debug)]
pub struct FileJob<'a> {
    pub target: &'a Path,
    pub temp: &'a Path,
    pub data: &'a [u8],
}

/// The code a failed write reports: the OS error number, or -1 for an error that has none.
pub const NO_ERRNO: i32 = -1;

/// Writes `job.data` to `job.temp` (created exclusively), then renames it to `job.target`; on failure the
/// temporary file is removed and the error's OS number (or [`NO_ERRNO`]) returned.
pub fn write_atomic(job: &FileJob) -> Result<(), i32> {
    let code = |err: io::Error| err.raw_os_error().unwrap_or(NO_ERRNO);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o666)
        .open(job.temp)
        .map_err(code)?;
    let written = file.write_all(job.data).and_then(|()| file.flush());
    drop(file);
    if let Err(err) = written.and_then(|()| fs::rename(job.temp, job.target)) {
        let _ = fs::remove_file(job.temp);
        return Err(code(err));
    }
    Ok(())
}

/// Writes every job, `threads` runs of consecutive jobs at a time; `errors[k]` gets 0 when job `k` was
/// written, else its error code (see [`write_atomic`]).
pub fn write_all_atomic(jobs: &[FileJob], threads: usize, errors: &mut [i32]) {
    assert_eq!(jobs.len(), errors.len());
    if jobs.is_empty() {
        return;
    }
    let per_run = jobs.len().div_ceil(threads.clamp(1, jobs.len()));
    std::thread::scope(|scope| {
        for (run, codes) in jobs.chunks(per_run).zip(errors.chunks_mut(per_run)) {
            scope.spawn(move || {
                for (job, code) in run.iter().zip(codes.iter_mut()) {
                    *code = write_atomic(job).err().unwrap_or(0);
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mnistvec-files-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_replaces_and_leaves_no_temporary_file() {
        let dir = scratch("replace");
        let (target, temp) = (dir.join("a.svg"), dir.join(".tmp-a.svg.1"));
        fs::write(&target, b"old").unwrap();
        write_atomic(&FileJob {
            target: &target,
            temp: &temp,
            data: b"new",
        })
        .unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert!(!temp.exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failure_leaves_the_target_and_removes_the_temporary_file() {
        let dir = scratch("fail");
        let target = dir.join("folder");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inside"), b"x").unwrap();
        let temp = dir.join(".tmp-folder.1");
        let code = write_atomic(&FileJob {
            target: &target,
            temp: &temp,
            data: b"new",
        })
        .unwrap_err();
        assert!(code == 21 || code == 39, "EISDIR or ENOTEMPTY, got {code}");
        assert!(target.is_dir() && !temp.exists());
        let missing = dir.join("no/such/folder.svg");
        let temp = dir.join("no/such/.tmp");
        assert_eq!(
            write_atomic(&FileJob {
                target: &missing,
                temp: &temp,
                data: b""
            }),
            Err(2)
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_existing_temporary_name_is_never_overwritten() {
        let dir = scratch("exclusive");
        let (target, temp) = (dir.join("a.svg"), dir.join(".tmp"));
        fs::write(&temp, b"someone else's").unwrap();
        assert_eq!(
            write_atomic(&FileJob {
                target: &target,
                temp: &temp,
                data: b"x"
            }),
            Err(17)
        );
        assert_eq!(fs::read(&temp).unwrap(), b"someone else's");
        assert!(!target.exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn every_job_is_written_whatever_the_thread_count() {
        for threads in [1, 2, 7] {
            let dir = scratch(&format!("threads-{threads}"));
            let targets: Vec<PathBuf> = (0..20).map(|k| dir.join(format!("{k}.svg"))).collect();
            let temps: Vec<PathBuf> = (0..20).map(|k| dir.join(format!(".tmp-{k}"))).collect();
            let data: Vec<Vec<u8>> = (0..20).map(|k| vec![b'a' + k as u8; k]).collect();
            let mut jobs: Vec<FileJob> = (0..20)
                .map(|k| FileJob {
                    target: &targets[k],
                    temp: &temps[k],
                    data: &data[k],
                })
                .collect();
            let bad = dir.join("missing/x.svg");
            jobs[5].target = &bad;
            let mut errors = vec![99; 20];
            write_all_atomic(&jobs, threads, &mut errors);
            for k in 0..20 {
                if k == 5 {
                    assert_eq!(errors[k], 2);
                } else {
                    assert_eq!(errors[k], 0);
                    assert_eq!(fs::read(&targets[k]).unwrap(), data[k]);
                }
            }
            fs::remove_dir_all(dir).unwrap();
        }
    }
}
