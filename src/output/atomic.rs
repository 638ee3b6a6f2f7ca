//! Nothing half-written: a run directory is complete or absent.
//!
//! Files are written into a hidden temporary directory beside the target, which is renamed
//! into place only when every file is complete; an older run of the same name is moved
//! aside first and removed after. If anything fails, the temporary directory is removed
//! and an existing run is left as it was.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A sibling of `target` named `.{name}.{tag}-{pid}`.
fn sibling(target: &Path, tag: &str) -> io::Result<PathBuf> {
    let name = target.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} has no file name", target.display()),
        )
    })?;
    let hidden = format!(".{}.{tag}-{}", name.to_string_lossy(), std::process::id());
    Ok(target.with_file_name(hidden))
}

/// Writes `files` (name, contents) as the directory `target`, replacing an earlier one.
pub fn write_dir_atomically(target: &Path, files: &[(&str, Vec<u8>)]) -> io::Result<()> {
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let tmp = sibling(target, "tmp")?;
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    let written = fs::create_dir(&tmp).and_then(|()| {
        files
            .iter()
            .try_for_each(|(name, bytes)| fs::write(tmp.join(name), bytes))
    });
    let placed = written.and_then(|()| {
        if target.exists() {
            let old = sibling(target, "old")?;
            fs::rename(target, &old)?;
            if let Err(e) = fs::rename(&tmp, target) {
                // Put the earlier run back rather than lose it.
                fs::rename(&old, target)?;
                return Err(e);
            }
            fs::remove_dir_all(&old)
        } else {
            fs::rename(&tmp, target)
        }
    });
    if placed.is_err() && tmp.exists() {
        // Best effort: the error being returned matters more than a failed clean-up.
        let _ = fs::remove_dir_all(&tmp);
    }
    placed
}

/// Writes one file through a temporary sibling and a rename.
pub fn write_file_atomically(target: &Path, bytes: &[u8]) -> io::Result<()> {
    stream_file_atomically(target, |w| w.write_all(bytes))
}

/// Writes one file through a temporary sibling and a rename, its content streamed by
/// `write` (for files too large to hold in memory); if `write` fails, nothing is left.
pub fn stream_file_atomically(
    target: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let tmp = sibling(target, "tmp")?;
    let result = File::create(&tmp)
        .and_then(|file| {
            let mut w = BufWriter::new(file);
            write(&mut w)?;
            w.into_inner()
                .map_err(io::IntoInnerError::into_error)?
                .sync_all()
        })
        .and_then(|()| fs::rename(&tmp, target));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_a_directory_whole() {
        let root = tempfile::tempdir().expect("temp dir");
        let target = root.path().join("out").join("run");
        write_dir_atomically(
            &target,
            &[("a.txt", b"1".to_vec()), ("b.txt", b"2".to_vec())],
        )
        .expect("first write");
        write_dir_atomically(&target, &[("a.txt", b"3".to_vec())]).expect("second write");
        assert_eq!(fs::read(target.join("a.txt")).expect("a.txt"), b"3");
        assert!(
            !target.join("b.txt").exists(),
            "the old run is replaced, not merged"
        );
        let leftovers: Vec<_> = fs::read_dir(root.path().join("out"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("run")]);
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let root = tempfile::tempdir().expect("temp dir");
        let target = root.path().join("run");
        let err = write_dir_atomically(&target, &[("no/such/dir.txt", b"x".to_vec())]);
        assert!(err.is_err());
        assert_eq!(fs::read_dir(root.path()).expect("list").count(), 0);
    }
}
