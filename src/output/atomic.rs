//! Nothing half-written: a run directory is complete or absent.
//!
//! Files are written into a hidden temporary directory beside the target, which is renamed
//! into place only when every file is complete; an older run of the same name is moved
//! aside first and removed after. If anything fails, the temporary directory is removed
//! and an existing run is left as it was.
//!
//! Only cellpk's own files are replaced: each directory lists what cellpk wrote in it
//! (`MANIFEST`), and anything else a user put there (notes, a figure edited by hand) is
//! carried over into the new run. A directory without the list (written before it
//! existed) is taken to hold cellpk's files only under the names the new run writes.

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

/// The file in each run directory that lists the files cellpk wrote there, one a line.
pub const MANIFEST: &str = ".cellpk-files";

/// Moves into `tmp` every entry of the earlier run `old` that cellpk did not write: not in
/// its manifest, or, without one, not among `new` names.
fn carry_over_user_files(old: &Path, tmp: &Path, new: &[&str]) -> io::Result<()> {
    let manifest = fs::read_to_string(old.join(MANIFEST)).ok();
    let ours = |name: &str| match &manifest {
        Some(list) => list.lines().any(|l| l == name),
        None => new.contains(&name),
    };
    for entry in fs::read_dir(old)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == MANIFEST || ours(&name) || new.contains(&name.as_ref()) {
            continue;
        }
        fs::rename(entry.path(), tmp.join(entry.file_name()))?;
    }
    Ok(())
}

/// Writes `files` (name, contents) as the directory `target`, replacing the files an
/// earlier run wrote there and keeping any others.
pub fn write_dir_atomically(target: &Path, files: &[(&str, Vec<u8>)]) -> io::Result<()> {
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let tmp = sibling(target, "tmp")?;
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
    let written = fs::create_dir(&tmp).and_then(|()| {
        files
            .iter()
            .try_for_each(|(name, bytes)| fs::write(tmp.join(name), bytes))?;
        fs::write(tmp.join(MANIFEST), names.join("\n") + "\n")
    });
    let placed = written.and_then(|()| {
        if target.exists() {
            let old = sibling(target, "old")?;
            fs::rename(target, &old)?;
            if let Err(e) = carry_over_user_files(&old, &tmp, &names) {
                // Put the user's files and the earlier run back rather than lose them.
                let _ = carry_over_user_files(&tmp, &old, &[]);
                fs::rename(&old, target)?;
                return Err(e);
            }
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
            "the old run's files are replaced, not merged"
        );
        let leftovers: Vec<_> = fs::read_dir(root.path().join("out"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("run")]);
    }

    #[test]
    fn files_a_user_put_in_a_run_directory_are_kept() {
        let root = tempfile::tempdir().expect("temp dir");
        let target = root.path().join("run");
        write_dir_atomically(
            &target,
            &[("a.txt", b"1".to_vec()), ("b.txt", b"2".to_vec())],
        )
        .expect("first write");
        fs::write(target.join("notes.md"), "mine").expect("a user's file");
        fs::create_dir(target.join("figures")).expect("a user's directory");
        write_dir_atomically(&target, &[("a.txt", b"3".to_vec())]).expect("second write");
        assert_eq!(fs::read(target.join("a.txt")).expect("a.txt"), b"3");
        assert!(!target.join("b.txt").exists(), "cellpk's earlier file goes");
        assert_eq!(
            fs::read_to_string(target.join("notes.md")).expect("kept"),
            "mine"
        );
        assert!(target.join("figures").is_dir());
        // Without a manifest (a run of an earlier version), only the new names are replaced.
        fs::remove_file(target.join(MANIFEST)).expect("remove the list");
        write_dir_atomically(&target, &[("a.txt", b"4".to_vec())]).expect("third write");
        assert!(target.join("notes.md").exists() && target.join("figures").is_dir());
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
