//! The merge: git's cherry-pick of a commit holding the new render whose parent holds the old
//! one, so that the old render is the merge base, the service's HEAD "ours" and the new render
//! "theirs". Git's own three-way merge, conflict markers and `git status` apply.

use std::ffi::OsStr;
use std::path::Path;

use anyhow::bail;

use crate::conflicts::{self, Conflict, Kind};
use crate::git::Git;
use crate::service::Service;

/// What the merge left for the user to know. Paths are relative to the service's folder.
pub struct Merged {
    pub conflicts: Vec<Conflict>,
    /// Files the user had deleted and the template changed: they stay deleted.
    pub kept_deleted: Vec<String>,
}

/// The git tree of the files in `dir`, written into `git`'s object store (the index file
/// `index` is used and removed). The folder's own `.gitignore` applies, as it would in the
/// service.
pub fn tree_of(git: &Git, dir: &Path, index: &Path) -> anyhow::Result<String> {
    let git = git.with_index(index);
    let work_tree = [OsStr::new("--work-tree"), dir.as_os_str()];
    git.run(
        work_tree
            .iter()
            .copied()
            .chain([OsStr::new("add"), OsStr::new("--all")]),
    )?;
    let tree = git.run(["write-tree"])?;
    let _ = std::fs::remove_file(index);
    Ok(tree.trim().to_owned())
}

/// `tree` as the whole repository would hold it: HEAD's tree with the service's folder
/// replaced by `tree`. At the repository's root that is `tree` itself.
fn placed(service: &Service, tree: &str, work: &Path) -> anyhow::Result<String> {
    if service.prefix.is_empty() {
        return Ok(tree.to_owned());
    }
    let index = work.join("index-placed");
    let git = service.git().with_index(&index);
    let folder = service.prefix.trim_end_matches('/');
    git.run(["read-tree", "HEAD"])?;
    git.run([
        "rm",
        "-r",
        "--cached",
        "--quiet",
        "--ignore-unmatch",
        "--",
        folder,
    ])?;
    git.run(["read-tree", &format!("--prefix={}", service.prefix), tree])?;
    let placed = git.run(["write-tree"])?;
    let _ = std::fs::remove_file(&index);
    Ok(placed.trim().to_owned())
}

/// Merges the change from the `old` render to the `new` one into the service's index and files.
pub fn merge_renders(
    service: &Service,
    old: &Path,
    new: &Path,
    work: &Path,
) -> anyhow::Result<Merged> {
    let git = service.git();
    let old_tree = tree_of(&git, old, &work.join("index-old"))?;
    let new_tree = tree_of(&git, new, &work.join("index-new"))?;
    let old_commit = git.commit_tree(
        &placed(service, &old_tree, work)?,
        None,
        "the template, as rendered before",
    )?;
    let new_commit = git.commit_tree(
        &placed(service, &new_tree, work)?,
        Some(&old_commit),
        "the template, now",
    )?;

    // Exit 1 means conflicts, which the status lists; anything else is a failure.
    let picked = git.output(&["cherry-pick", "--no-commit", &new_commit])?;
    let status = git.run(["status", "--porcelain", "-z", "--untracked-files=no"])?;
    let unmerged = conflicts::parse_status(&status);
    if !picked.status.success() && unmerged.is_empty() {
        bail!(
            "git could not merge the template's changes: {}",
            String::from_utf8_lossy(&picked.stderr).trim()
        );
    }
    let mut merged = Merged {
        conflicts: Vec::new(),
        kept_deleted: Vec::new(),
    };
    for conflict in unmerged {
        let path = conflict
            .path
            .strip_prefix(&service.prefix)
            .unwrap_or(&conflict.path)
            .to_owned();
        if conflict.kind == Kind::DeletedHere {
            // Deleted by the user, changed by the template: it stays deleted.
            git.run(["rm", "--quiet", "--", &conflict.path])?;
            merged.kept_deleted.push(path);
        } else {
            merged.conflicts.push(Conflict { path, ..conflict });
        }
    }
    // Nothing is left of the cherry-pick but the merged index and files.
    let _ = git.run(["cherry-pick", "--quit"]);
    Ok(merged)
}
