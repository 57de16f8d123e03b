//! The steps that move files: `upload` (atomic, checked by length and
//! sha256), `push_tree` (a tar stream, skipped when the host already holds
//! that tree), `fetch` (into a private local file), and the check that a
//! local source really lies inside the playbook's or fleet's directories.

use std::path::Path;

use ecsfleet_playbooks::transfer::{
    UPLOAD_INCOMPLETE, UploadSpec, download_command, upload_command,
};
use ecsfleet_playbooks::{PlannedStep, RemoteCommand, UploadSource};
use sha2::{Digest, Sha256};

use super::{Done, Runner, StepError, collect};
use crate::run::events::StepResult;
use crate::run::transport::Transport;
use crate::run::tree;
use crate::ssh::ExitStatus;

impl<T: Transport> Runner<'_, T> {
    pub(super) async fn upload(
        &mut self,
        step: &PlannedStep,
        source: &UploadSource,
        dest: &str,
        mode: u32,
        owner: Option<String>,
        group: Option<String>,
    ) -> Result<Done, StepError> {
        let data = match source {
            UploadSource::LocalFile(path) => {
                self.inside_roots(path)?;
                std::fs::read(path)
                    .map_err(|e| StepError::msg(format!("cannot read {}: {e}", path.display())))?
            }
            UploadSource::Bytes { data, .. } => data.clone(),
        };
        let spec = UploadSpec {
            dest: dest.to_owned(),
            mode,
            owner,
            group,
            len: data.len() as u64,
            sha256_hex: sha256_hex(&data),
            make_parents: true,
        };
        let mut command = upload_command(&spec).map_err(|e| StepError::msg(e.to_string()))?;
        if step.sudo {
            command = command.sudo();
        }
        let out = collect(self.t, &command.to_shell(), Some(&data))
            .await
            .map_err(|e| StepError::msg(format!("upload to {dest}: {e}")))?;
        match out.status {
            ExitStatus::Code(0) => Ok(Done::new(
                StepResult::Changed,
                Some(format!("{} bytes", data.len())),
            )),
            ExitStatus::Code(UPLOAD_INCOMPLETE) => Err(StepError::msg(format!(
                "upload to {dest} arrived incomplete; the old file is unchanged"
            ))),
            status => Err(StepError::Failed {
                message: format!("upload to {dest} failed ({status})"),
                command: None,
                output: String::from_utf8_lossy(&out.stderr).into_owned(),
            }),
        }
    }

    pub(super) async fn push_tree(
        &mut self,
        step: &PlannedStep,
        src: &Path,
        dest: &str,
        exclude: &[String],
        owner: Option<&str>,
        group: Option<&str>,
    ) -> Result<Done, StepError> {
        self.inside_roots(src)?;
        let (src_owned, exclude_owned) = (src.to_path_buf(), exclude.to_vec());
        let archive = tokio::task::spawn_blocking(move || tree::pack(&src_owned, &exclude_owned))
            .await
            .map_err(|e| StepError::msg(e.to_string()))?
            .map_err(|e| StepError::msg(format!("cannot pack {}: {e}", src.display())))?;
        let sudo = |c: RemoteCommand| if step.sudo { c.sudo() } else { c };
        let guard = sudo(tree::unchanged_command(dest, &archive.sha256));
        if collect(self.t, &guard.to_shell(), None)
            .await
            .is_ok_and(|o| o.status.success())
        {
            return Ok(Done::new(
                StepResult::Ok,
                Some(format!("{dest} already holds this tree")),
            ));
        }
        self.progress(format!(
            "sending {} entries ({} KiB)",
            archive.entries,
            archive.bytes.len() / 1024
        ));
        let command = sudo(tree::unpack_command(
            dest,
            owner,
            group,
            archive.bytes.len(),
            &archive.sha256,
        ));
        let out = collect(self.t, &command.to_shell(), Some(&archive.bytes))
            .await
            .map_err(|e| StepError::msg(format!("push_tree to {dest}: {e}")))?;
        match out.status {
            ExitStatus::Code(0) => Ok(Done::new(
                StepResult::Changed,
                Some(format!(
                    "{} entries, {} KiB, sha256 {}",
                    archive.entries,
                    archive.bytes.len() / 1024,
                    &archive.sha256[..12]
                )),
            )),
            ExitStatus::Code(tree::TREE_INCOMPLETE) => Err(StepError::msg(format!(
                "the tree for {dest} arrived incomplete; {dest} is unchanged"
            ))),
            status => Err(StepError::Failed {
                message: format!("unpacking into {dest} failed ({status})"),
                command: None,
                output: String::from_utf8_lossy(&out.stderr).into_owned(),
            }),
        }
    }

    pub(super) async fn fetch(
        &mut self,
        step: &PlannedStep,
        src: &str,
        dest: &Path,
    ) -> Result<Done, StepError> {
        let mut command = download_command(src).map_err(|e| StepError::msg(e.to_string()))?;
        if step.sudo {
            command = command.sudo();
        }
        let out = collect(self.t, &command.to_shell(), None)
            .await
            .map_err(|e| StepError::msg(format!("fetch {src}: {e}")))?;
        if !out.status.success() {
            return Err(StepError::Failed {
                message: format!("cannot read {src} ({})", out.status),
                command: None,
                output: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        write_private(dest, &out.stdout)
            .map_err(|e| StepError::msg(format!("cannot write {}: {e}", dest.display())))?;
        Ok(Done::new(
            StepResult::Changed,
            Some(format!("{} bytes to {}", out.stdout.len(), dest.display())),
        ))
    }

    /// The playbook checked its local paths by their text; here the file
    /// system has its say: a symlink inside the fleet directory must not
    /// lead an upload to a file outside it (`/etc/shadow`, another fleet's
    /// env).
    pub(super) fn inside_roots(&self, path: &Path) -> Result<(), StepError> {
        let real = std::fs::canonicalize(path)
            .map_err(|e| StepError::msg(format!("cannot read {}: {e}", path.display())))?;
        let ctx = &self.job.ctx;
        let inside = self
            .job
            .playbook
            .dir
            .iter()
            .chain(ctx.fleet_dir.iter())
            .chain(ctx.local_roots.iter())
            .filter_map(|root| std::fs::canonicalize(root).ok())
            .any(|root| real.starts_with(root));
        if inside {
            Ok(())
        } else {
            Err(StepError::msg(format!(
                "local path {} leads to {}, outside the playbook and fleet directories (through a symlink)",
                path.display(),
                real.display()
            )))
        }
    }
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `data` to `dest` as a 0600 file, atomically (temp file, rename).
fn write_private(dest: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.ecsfleet-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
        std::fs::rename(&tmp, dest)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
