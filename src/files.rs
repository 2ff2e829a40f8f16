//! File trees: temporary folders, listing the files under a folder, copying a tree.

use std::collections::BTreeSet;
use std::path::Path;

use tempfile::TempDir;

/// A temporary folder outside the repository (in the system temp folder).
pub fn new_temp_dir(prefix: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(std::env::temp_dir())
        .expect("create temporary folder")
}

/// Every file under `dir`, as `/`-separated paths relative to it.
pub fn list_files(dir: &Path) -> BTreeSet<String> {
    list_files_except(dir, &|_| false)
}

/// Like [`list_files`], leaving out paths (files or folders) for which `skip` is true.
pub fn list_files_except(dir: &Path, skip: &dyn Fn(&str) -> bool) -> BTreeSet<String> {
    fn walk(base: &Path, dir: &Path, skip: &dyn Fn(&str) -> bool, out: &mut BTreeSet<String>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read folder {}: {e}", dir.display()));
        for entry in entries {
            let entry = entry.expect("read folder entry");
            let path = entry.path();
            let rel = path
                .strip_prefix(base)
                .expect("path under base")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            if skip(&rel) {
                continue;
            }
            if path.is_dir() {
                walk(base, &path, skip, out);
            } else {
                out.insert(rel);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, skip, &mut out);
    out
}

/// Copies `from` into `to` (made if missing), leaving out relative paths for which `skip` is
/// true. File permissions are copied too.
pub fn copy_tree(from: &Path, to: &Path, skip: &dyn Fn(&str) -> bool) {
    for file in list_files_except(from, skip) {
        let target = to.join(&file);
        std::fs::create_dir_all(target.parent().expect("file has a parent"))
            .expect("create folder");
        std::fs::copy(from.join(&file), &target)
            .unwrap_or_else(|e| panic!("copy {file} to {}: {e}", target.display()));
    }
    std::fs::create_dir_all(to).expect("create folder");
}
